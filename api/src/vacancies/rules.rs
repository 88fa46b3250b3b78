//! The job recommendation rule (DOMAIN.md §11): how well an open vacancy fits a
//! participant, and why. Pure functions; the recommendation query selects the
//! candidates and counts their matches in SQL with the weights below, so the
//! database orders by exactly the score [`score`] computes.
//!
//! A vacancy is a candidate when at least one of its skills matches one of the
//! participant's preferred skills (questionnaire) or one of the categories of
//! the training they completed. Skills compare by `prakerja_skill_key`:
//! whitespace collapsed, case and accents ignored. Living in the vacancy's
//! province adds to the score but never makes a candidate on its own: a job
//! nearby that needs none of the participant's skills is no recommendation.

use serde::Serialize;
use utoipa::ToSchema;

/// Points for each vacancy skill among the participant's preferred skills.
pub const SKILL_POINTS: i32 = 3;
/// Points for each vacancy skill that is the category of a completed training.
pub const CATEGORY_POINTS: i32 = 2;
/// Points for a vacancy in the participant's domicile province: worth more
/// than one extra skill, since moving for a job costs a job seeker most; three
/// matching skills elsewhere still outrank one nearby.
pub const PROVINCE_POINTS: i32 = 4;
/// The most recommendations answered.
pub const LIMIT: i64 = 20;

/// What the query found about one candidate vacancy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Matches {
    /// The vacancy's skills (as the job board wrote them) matching a preferred skill.
    pub skills: Vec<String>,
    /// Distinct skill keys behind `skills` (what the score counts: "Excel" and
    /// "excel" in one vacancy are one skill).
    pub skill_count: i32,
    /// The completed trainings' categories (as sold) matching a vacancy skill.
    pub categories: Vec<String>,
    /// Distinct keys behind `categories`.
    pub category_count: i32,
    /// The vacancy is in the participant's domicile province.
    pub same_province: bool,
}

/// Why a vacancy is recommended: one entry per kind that applies, in this order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecommendationReason {
    /// Vacancy skills the participant named as preferred skills (questionnaire).
    MatchingSkills {
        /// As the vacancy lists them.
        skills: Vec<String>,
    },
    /// Categories of trainings the participant completed that the vacancy
    /// lists as skills.
    TrainingCategory {
        /// As the trainings were sold.
        categories: Vec<String>,
    },
    /// The vacancy is in the participant's domicile province (profile).
    SameProvince {
        #[schema(example = "31")]
        province_code: String,
    },
}

/// The score of a candidate: a weighted count of its matches. The query's
/// `ORDER BY` uses the same weights (bound from the constants above).
pub fn score(m: &Matches) -> i32 {
    SKILL_POINTS * m.skill_count
        + CATEGORY_POINTS * m.category_count
        + if m.same_province { PROVINCE_POINTS } else { 0 }
}

/// The reasons of a candidate, for `reasons` (empty lists are left out).
pub fn reasons(m: &Matches, province_code: &str) -> Vec<RecommendationReason> {
    let mut out = Vec::with_capacity(3);
    if !m.skills.is_empty() {
        out.push(RecommendationReason::MatchingSkills {
            skills: m.skills.clone(),
        });
    }
    if !m.categories.is_empty() {
        out.push(RecommendationReason::TrainingCategory {
            categories: m.categories.clone(),
        });
    }
    if m.same_province {
        out.push(RecommendationReason::SameProvince {
            province_code: province_code.to_owned(),
        });
    }
    out
}

/// Orders scored candidates as the list answers them: best score first, then
/// the soonest closing (apply before it is gone), then by id for a stable order.
pub fn rank<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> (i32, K)) {
    items.sort_by(|a, b| {
        let (sa, ka) = key(a);
        let (sb, kb) = key(b);
        sb.cmp(&sa).then(ka.cmp(&kb))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(skills: i32, categories: i32, same_province: bool) -> Matches {
        Matches {
            skills: (0..skills).map(|i| format!("s{i}")).collect(),
            skill_count: skills,
            categories: (0..categories).map(|i| format!("c{i}")).collect(),
            category_count: categories,
            same_province,
        }
    }

    #[test]
    fn score_weighs_skills_categories_and_the_province() {
        let cases = [
            // (skills, categories, same province, score)
            (1, 0, false, 3),
            (0, 1, false, 2),
            (0, 1, true, 6),
            (1, 0, true, 7),
            (2, 0, false, 6),
            (3, 0, false, 9),
            (2, 1, true, 12),
            (0, 0, true, 4), // never a candidate (the query needs a match), scored all the same
        ];
        for (skills, categories, same, expected) in cases {
            assert_eq!(
                score(&m(skills, categories, same)),
                expected,
                "{skills} {categories} {same}"
            );
        }
    }

    #[test]
    fn nearby_outranks_one_more_skill_but_not_two() {
        assert!(score(&m(1, 0, true)) > score(&m(2, 0, false)));
        assert!(score(&m(3, 0, false)) > score(&m(1, 0, true)));
        // A preferred skill says more than a training's category.
        assert!(score(&m(1, 0, false)) > score(&m(0, 1, false)));
    }

    #[test]
    fn reasons_list_each_kind_that_applies_in_order() {
        let both = Matches {
            skills: vec!["Menjahit".into()],
            skill_count: 1,
            categories: vec!["Fesyen".into()],
            category_count: 1,
            same_province: true,
        };
        assert_eq!(
            reasons(&both, "31"),
            [
                RecommendationReason::MatchingSkills {
                    skills: vec!["Menjahit".into()]
                },
                RecommendationReason::TrainingCategory {
                    categories: vec!["Fesyen".into()]
                },
                RecommendationReason::SameProvince {
                    province_code: "31".into()
                },
            ]
        );
        let only_category = Matches {
            categories: vec!["Kuliner".into()],
            category_count: 1,
            ..Matches::default()
        };
        assert_eq!(
            reasons(&only_category, "32"),
            [RecommendationReason::TrainingCategory {
                categories: vec!["Kuliner".into()]
            }]
        );
        assert_eq!(
            serde_json::to_value(reasons(&both, "31")).unwrap(),
            serde_json::json!([
                {"kind": "matching_skills", "skills": ["Menjahit"]},
                {"kind": "training_category", "categories": ["Fesyen"]},
                {"kind": "same_province", "province_code": "31"}
            ])
        );
    }

    #[test]
    fn rank_puts_the_best_score_first_then_the_soonest_closing() {
        // (score, closes_on as a day number, id)
        let mut items = vec![(7, 30, 'a'), (9, 40, 'b'), (7, 10, 'c'), (7, 10, 'b')];
        rank(&mut items, |&(s, day, id)| (s, (day, id)));
        assert_eq!(
            items,
            [(9, 40, 'b'), (7, 10, 'b'), (7, 10, 'c'), (7, 30, 'a')]
        );
    }
}
