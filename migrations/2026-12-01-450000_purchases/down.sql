DROP TABLE face_checks;
DROP TABLE platform_bindings;
DROP TABLE purchases;
