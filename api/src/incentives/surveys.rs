//! Evaluation surveys (DOMAIN.md §4, §8): the wave's `survey_count` surveys
//! (default 3, shipped with their questions by a migration), each paying the
//! wave's `survey_incentive_idr` (default Rp50.000) once answered.
//!
//! Milestones: every survey is `locked` until the participant's first
//! training is finished (the day the incentive schedule starts, `opens_on`
//! null until then); survey 1 opens that day, survey 2 one month later,
//! survey 3 three months later, and later ones every three months more
//! (`surveys.opens_after_months`). A response answers every question once
//! (422 `answers_incomplete` otherwise), is taken once (409
//! `survey_completed`), and creates its survey incentive in the same
//! transaction, paid by the same disbursement path as the installments.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{
    payout,
    rules::{self, IncentiveKind},
    schedule::{self, NewIncentive},
    views::{SurveyQuestion, SurveyReceipt, SurveyResponseRequest, SurveyStatus, SurveyView},
};
use crate::{
    db::schema::{batches, cards, incentive_schedules, survey_responses, surveys},
    error::{ApiError, ErrorCode},
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = surveys)]
struct SurveyRow {
    id: String,
    position: i32,
    title: String,
    opens_after_months: i32,
    questions: serde_json::Value,
}

/// The participant's survey terms: card, wave scheme and, once finished,
/// the day the first training was finished.
struct Participation {
    card_id: Uuid,
    survey_count: i32,
    survey_incentive_idr: i64,
    finished_on: Option<NaiveDate>,
}

async fn participation(
    conn: &mut AsyncPgConnection,
    account: Uuid,
) -> QueryResult<Option<Participation>> {
    let card: Option<(Uuid, i32, i64)> = cards::table
        .inner_join(batches::table)
        .filter(cards::account_id.eq(account))
        .select((
            cards::id,
            batches::survey_count,
            batches::survey_incentive_idr,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((card_id, survey_count, survey_incentive_idr)) = card else {
        return Ok(None);
    };
    let finished_on = incentive_schedules::table
        .find(account)
        .select(incentive_schedules::finished_on)
        .first(conn)
        .await
        .optional()?;
    Ok(Some(Participation {
        card_id,
        survey_count,
        survey_incentive_idr,
        finished_on,
    }))
}

fn questions_of(row: &SurveyRow) -> Result<Vec<SurveyQuestion>, ApiError> {
    serde_json::from_value(row.questions.clone())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("survey {}: {e}", row.id)))
}

fn opens_on(p: &Participation, row: &SurveyRow) -> Option<NaiveDate> {
    p.finished_on
        .map(|f| rules::survey_opens_on(f, row.opens_after_months))
}

fn status(p: &Participation, row: &SurveyRow, answered: bool, today: NaiveDate) -> SurveyStatus {
    match (answered, opens_on(p, row)) {
        (true, _) => SurveyStatus::Completed,
        (false, Some(opens)) if opens <= today => SurveyStatus::Open,
        _ => SurveyStatus::Locked,
    }
}

async fn offered(conn: &mut AsyncPgConnection, count: i32) -> QueryResult<Vec<SurveyRow>> {
    surveys::table
        .filter(surveys::position.le(count))
        .select(SurveyRow::as_select())
        .order(surveys::position)
        .load(conn)
        .await
}

/// `GET /v1/me/surveys`: the wave's surveys in order (none before selection).
pub async fn my_surveys(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    today: NaiveDate,
) -> Result<Vec<SurveyView>, ApiError> {
    let Some(p) = participation(conn, account).await? else {
        return Ok(Vec::new());
    };
    let answered: HashSet<String> = survey_responses::table
        .filter(survey_responses::account_id.eq(account))
        .select(survey_responses::survey_id)
        .load::<String>(conn)
        .await?
        .into_iter()
        .collect();
    offered(conn, p.survey_count)
        .await?
        .into_iter()
        .map(|row| {
            Ok(SurveyView {
                status: status(&p, &row, answered.contains(&row.id), today),
                opens_on: opens_on(&p, &row),
                incentive_idr: p.survey_incentive_idr,
                questions: questions_of(&row)?,
                id: row.id,
                title: row.title,
            })
        })
        .collect()
}

/// Checks that `request` answers every question of the survey exactly once,
/// each with one of its options (or free text where it has none).
fn check_answers(
    questions: &[SurveyQuestion],
    request: &SurveyResponseRequest,
) -> Result<HashMap<String, String>, ApiError> {
    let mut given = HashMap::new();
    for (i, a) in request.answers.iter().enumerate() {
        let Some(q) = questions.iter().find(|q| q.id == a.question_id) else {
            return Err(ApiError::field(
                format!("answers[{i}].question_id"),
                "is not a question of this survey",
            ));
        };
        if a.answer.trim().is_empty() {
            return Err(ApiError::field(
                format!("answers[{i}].answer"),
                "must not be blank",
            ));
        }
        if !q.options.is_empty() && !q.options.contains(&a.answer) {
            return Err(ApiError::field(
                format!("answers[{i}].answer"),
                "is not an option of this question",
            ));
        }
        if given.insert(q.id.clone(), a.answer.clone()).is_some() {
            return Err(ApiError::field(
                format!("answers[{i}].question_id"),
                "is answered twice",
            ));
        }
    }
    let missing: Vec<&str> = questions
        .iter()
        .map(|q| q.id.as_str())
        .filter(|id| !given.contains_key(*id))
        .collect();
    if let [first, ..] = missing.as_slice() {
        return Err(ApiError::new(ErrorCode::AnswersIncomplete).detail(format!(
            "Every question must be answered; {} unanswered (first: {first}).",
            missing.len()
        )));
    }
    Ok(given)
}

/// `POST /v1/me/surveys/{id}/responses`.
pub async fn respond(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    survey_id: &str,
    request: &SurveyResponseRequest,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<SurveyReceipt, ApiError> {
    let not_found =
        || ApiError::new(ErrorCode::NotFound).detail("No such survey for this account.");
    let p = participation(conn, account).await?.ok_or_else(not_found)?;
    let row: SurveyRow = surveys::table
        .find(survey_id)
        .filter(surveys::position.le(p.survey_count))
        .select(SurveyRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let completed =
        || ApiError::new(ErrorCode::SurveyCompleted).detail("This survey was already answered.");
    let answered: i64 = survey_responses::table
        .find((account, survey_id))
        .count()
        .get_result(conn)
        .await?;
    if answered > 0 {
        return Err(completed());
    }
    if status(&p, &row, false, today) == SurveyStatus::Locked {
        return Err(
            ApiError::new(ErrorCode::SurveyLocked).detail(match opens_on(&p, &row) {
                Some(d) => format!("This survey opens on {d}."),
                None => "Surveys open once the first training is completed and reviewed.".into(),
            }),
        );
    }
    let answers = check_answers(&questions_of(&row)?, request)?;
    let answers = serde_json::to_value(answers).map_err(ApiError::internal)?;
    let amount = p.survey_incentive_idr;
    conn.transaction::<_, ApiError, _>(async |conn| {
        let inserted = diesel::insert_into(survey_responses::table)
            .values((
                survey_responses::account_id.eq(account),
                survey_responses::survey_id.eq(&row.id),
                survey_responses::answers.eq(&answers),
                survey_responses::submitted_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if inserted == 0 {
            return Err(completed());
        }
        if amount > 0 {
            let linked = payout::is_linked(conn, account).await?;
            let new = NewIncentive {
                account,
                card_id: p.card_id,
                kind: IncentiveKind::Survey,
                installment: row.position,
                amount_idr: amount,
                due_on: today,
                survey_id: Some(&row.id),
            };
            schedule::create_incentive(conn, &new, linked, now).await?;
        }
        Ok(())
    })
    .await?;
    Ok(SurveyReceipt {
        survey_id: row.id,
        status: SurveyStatus::Completed,
        submitted_at: now,
        incentive_idr: amount,
    })
}
