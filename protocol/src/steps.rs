//! A check done step by step (name, address, connection, TLS, sign-in, ...)
//! so that a person reads which step failed and why, instead of one error
//! from the end of the way: the agent's `test-connection` and the
//! server's `exchange test` both report this way.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "outcome", content = "detail")]
pub enum Outcome {
    Ok(String),
    Failed(String),
    /// Not checked: an earlier step failed, or it does not apply.
    Skipped(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub step: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// The steps so far; once one fails, the rest are skipped.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub steps: Vec<Step>,
}

impl Report {
    pub fn failed(&self) -> Option<&Step> {
        self.steps
            .iter()
            .find(|s| matches!(s.outcome, Outcome::Failed(_)))
    }

    pub fn add(&mut self, step: &str, outcome: Outcome) {
        let outcome = match (self.failed(), outcome) {
            (Some(f), _) => Outcome::Skipped(format!("not checked: {} failed", f.step)),
            (None, o) => o,
        };
        self.steps.push(Step {
            step: step.to_owned(),
            outcome,
        });
    }

    /// One line a step, as a person reads them.
    pub fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .map(|s| match &s.outcome {
                Outcome::Ok(d) => format!("{:<8} ok      {d}", s.step),
                Outcome::Failed(d) => format!("{:<8} FAILED  {d}", s.step),
                Outcome::Skipped(d) => format!("{:<8} -       {d}", s.step),
            })
            .collect()
    }
}

/// An error and its causes on one line: a client library's top error
/// alone ("error sending request") does not say what went wrong.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}
