//! Every text-backed enum (`db::text_enum!`) and the CHECK constraint of its
//! column list the same words, so a value Rust writes is always one the
//! database accepts and every stored value reads back as a variant.

use std::collections::BTreeSet;

use prakerja_api::{
    accounts::model::{EndReason, TokenPurpose},
    auth::Role,
    batches::rules::{ApplicationStatus, SelectionState},
    card::{
        ledger::{AccountKind, EntryKind},
        model::CardStatus,
    },
    catalogue::model::CourseLevel,
    idempotency::KeyState,
    identity::Gender,
    incentives::rules::{AttemptStatus, IncentiveKind, IncentiveStatus},
    integrations::payout::PayoutProvider,
    notifications::{outbox::NotificationStatus, Channel},
    otp::{ChallengeState, Purpose},
    partners::model::PartnerStatus,
    purchases::{
        model::FaceOutcome,
        rules::{CancellationReason, Delivery, FaceCheckSource, PurchaseStatus},
    },
    registration::rules::{EducationLevel, EmploymentStatus, Occupation},
    reports::rules::{AttachmentKind, AttachmentType, Author, Category, ReportStatus},
    vacancies::model::EmploymentType,
};

use crate::helpers::TestDb;

#[derive(diesel::QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    definition: String,
}

/// The words of `column = ANY (ARRAY['a'::text, …])` in a CHECK definition.
fn words_of(definition: &str, column: &str) -> Option<BTreeSet<String>> {
    let start = definition.find(&format!("({column} = ANY (ARRAY["))?;
    let rest = &definition[start..];
    let list = &rest[rest.find('[')? + 1..rest.find(']')?];
    Some(
        list.split(',')
            .map(|w| {
                w.trim()
                    .trim_end_matches("::text")
                    .trim_matches('\'')
                    .to_owned()
            })
            .collect(),
    )
}

fn set(words: impl IntoIterator<Item = &'static str>) -> BTreeSet<String> {
    words.into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn vocabularies_match_the_check_constraints() {
    let db = TestDb::new().await;
    let checks: Vec<Check> = diesel_async::RunQueryDsl::load(
        diesel::sql_query(
            "SELECT conrelid::regclass::text AS table_name, pg_get_constraintdef(oid) AS definition \
             FROM pg_constraint WHERE contype = 'c'",
        ),
        &mut db.conn().await,
    )
    .await
    .unwrap();
    macro_rules! words {
        ($t:ty) => {
            set(<$t>::ALL.iter().map(|v| v.as_str()))
        };
    }
    let columns: Vec<(&str, &str, BTreeSet<String>)> = vec![
        ("accounts", "role", words!(Role)),
        ("account_tokens", "purpose", words!(TokenPurpose)),
        ("otp_challenges", "purpose", words!(Purpose)),
        ("otp_challenges", "state", words!(ChallengeState)),
        ("sessions", "end_reason", words!(EndReason)),
        ("identities", "gender", words!(Gender)),
        ("profiles", "education_level", words!(EducationLevel)),
        ("profiles", "occupation", words!(Occupation)),
        ("profiles", "employment_status", words!(EmploymentStatus)),
        ("batches", "selection_state", words!(SelectionState)),
        ("applications", "status", words!(ApplicationStatus)),
        ("cards", "status", words!(CardStatus)),
        ("ledger_accounts", "kind", words!(AccountKind)),
        ("journal_entries", "kind", words!(EntryKind)),
        ("idempotency_keys", "state", words!(KeyState)),
        ("notifications", "channel", words!(Channel)),
        ("notifications", "status", words!(NotificationStatus)),
        ("purchases", "status", words!(PurchaseStatus)),
        ("purchases", "delivery", words!(Delivery)),
        (
            "purchases",
            "cancellation_reason",
            words!(CancellationReason),
        ),
        ("face_checks", "source", words!(FaceCheckSource)),
        ("face_checks", "outcome", words!(FaceOutcome)),
        ("payout_accounts", "provider", words!(PayoutProvider)),
        ("incentives", "kind", words!(IncentiveKind)),
        ("incentives", "status", words!(IncentiveStatus)),
        ("payout_attempts", "status", words!(AttemptStatus)),
        ("partners", "status", words!(PartnerStatus)),
        ("courses", "delivery", words!(Delivery)),
        ("courses", "level", words!(CourseLevel)),
        ("reports", "category", words!(Category)),
        ("reports", "status", words!(ReportStatus)),
        ("report_messages", "author", words!(Author)),
        ("report_attachments", "kind", words!(AttachmentKind)),
        ("report_attachments", "content_type", words!(AttachmentType)),
        ("vacancies", "employment_type", words!(EmploymentType)),
    ];
    for (table, column, rust) in columns {
        let in_db: Vec<BTreeSet<String>> = checks
            .iter()
            .filter(|c| c.table_name == table)
            .filter_map(|c| words_of(&c.definition, column))
            .collect();
        // One CHECK lists the whole vocabulary; others (state/stamp
        // consistency checks) may name some of its words, never another.
        assert_eq!(
            in_db.iter().filter(|w| **w == rust).count(),
            1,
            "one CHECK lists {table}.{column} as {rust:?}: {in_db:?}"
        );
        assert!(
            in_db.iter().all(|w| w.is_subset(&rust)),
            "{table}.{column}: {in_db:?}"
        );
    }
}
