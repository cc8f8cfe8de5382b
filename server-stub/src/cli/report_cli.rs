//! `report ID`: who of those addressed displayed, read and answered a
//! message, as text, JSON or CSV.

use anyhow::Result;
use herald_protocol::{host_shown, ReceiptAt, ReceiptReport, UserReceipts};
use reqwest::Method;

use crate::client::{seg, AdminClient};

const NONE: Option<&()> = None;

pub async fn report(id: &str, json: bool, csv: bool, c: &AdminClient) -> Result<()> {
    let path = format!("/api/v1/admin/messages/{}/report", seg(id));
    if csv {
        print!("{}", c.text(Method::GET, &format!("{path}.csv")).await?);
        return Ok(());
    }
    let r: ReceiptReport = c.call(Method::GET, &path, NONE).await?;
    if json {
        return crate::cli::print_json(&r);
    }
    print!("{}", text(&r));
    Ok(())
}

fn at(a: &Option<ReceiptAt>) -> String {
    a.as_ref().map_or_else(
        || "-".to_owned(),
        |a| {
            format!(
                "{} on {}",
                a.at.to_rfc3339(),
                host_shown(&a.host, a.host_proven)
            )
        },
    )
}

/// The report as people read it: the counts, each answer's share, one line
/// per user, and who has not answered.
fn text(r: &ReceiptReport) -> String {
    let pct = |n: u64| (n * 100).checked_div(r.addressed).unwrap_or(0);
    let mut out = format!(
        "{} addressed, {} displayed ({}%), {} read ({}%), {} rejected\n",
        r.addressed,
        r.displayed,
        pct(r.displayed),
        r.read,
        pct(r.read),
        r.rejected
    );
    let asks = !r.message.extras.answers.is_empty();
    if asks {
        out.push_str(&format!("{} answered ({}%)\n", r.answered, pct(r.answered)));
        for a in &r.answers {
            out.push_str(&format!(
                "answer {} \"{}\": {} ({}%)\n",
                a.answer, a.label, a.count, a.percent
            ));
        }
    }
    for u in &r.users {
        out.push_str(&user_line(r, u));
        out.push('\n');
    }
    if asks {
        let silent: Vec<&str> = r
            .users
            .iter()
            .filter(|u| u.addressed && u.answered.is_none())
            .map(|u| u.user.as_str())
            .collect();
        out.push_str(&format!(
            "not answered ({}): {}\n",
            silent.len(),
            if silent.is_empty() {
                "-".to_owned()
            } else {
                silent.join(", ")
            }
        ));
    }
    out
}

fn user_line(r: &ReceiptReport, u: &UserReceipts) -> String {
    let rejected = u
        .rejected
        .as_ref()
        .map(|_| format!("\trejected {}", at(&u.rejected)))
        .unwrap_or_default();
    let answered = u
        .answered
        .as_ref()
        .map(|a| {
            let n = a.answer.unwrap_or(0);
            let label = r
                .message
                .extras
                .answers
                .get(usize::from(n).wrapping_sub(1))
                .map_or("", String::as_str);
            let lang = a
                .lang
                .as_deref()
                .map(|l| format!(" in {l}"))
                .unwrap_or_default();
            format!("\tanswered {n} \"{label}\" {}{lang}", at(&u.answered))
        })
        .unwrap_or_default();
    format!(
        "{}\t{}\tdisplayed {}\tread {}{rejected}{answered}",
        u.user,
        if u.addressed {
            "addressed"
        } else {
            "no longer addressed"
        },
        at(&u.displayed),
        at(&u.read)
    )
}
