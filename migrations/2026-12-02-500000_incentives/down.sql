DROP TABLE survey_responses;
DROP TABLE payout_callbacks;
DROP TABLE payout_attempts;
DROP TABLE incentives;
DROP TABLE incentive_schedules;
DROP TABLE surveys;
DROP TABLE payout_accounts;
