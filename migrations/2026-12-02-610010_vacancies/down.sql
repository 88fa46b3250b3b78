DROP TABLE vacancies;
DROP FUNCTION prakerja_words(text[]);
DROP FUNCTION prakerja_skill_keys(text[]);
DROP FUNCTION prakerja_skill_key(text);
