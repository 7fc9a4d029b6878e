DROP TABLE input_groups;
DROP TABLE programs;
DROP TABLE refresh_tokens;
DROP TABLE accounts;
