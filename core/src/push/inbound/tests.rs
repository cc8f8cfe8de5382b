use super::*;
use herald_protocol::sign;

const KEY: &str = "k3y";
const HOST: &str = "pc-1";

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn nonce(i: u32) -> String {
    format!("{i:032x}")
}

fn signed(ts: i64, n: &str, key: &str) -> Call {
    Call {
        timestamp: Some(ts.to_string()),
        nonce: Some(n.to_owned()),
        signature: Some(sign(key, ts, n, HOST)),
    }
}

#[test]
fn a_good_call_passes_once() {
    let mut g = Guard::new(HOST, at(1000));
    let c = signed(1005, &nonce(1), KEY);
    assert_eq!(g.check(&c, Some(KEY), at(1006)), Ok(()));
    assert_eq!(g.check(&c, Some(KEY), at(1007)), Err(Rejection::Replayed));
    assert_eq!(
        g.check(&signed(1007, &nonce(2), KEY), Some(KEY), at(1007)),
        Ok(())
    );
    // Nonces are compared as sent, whatever their case.
    let upper = signed(1007, &nonce(0xabc).to_uppercase(), KEY);
    assert_eq!(g.check(&upper, Some(KEY), at(1007)), Ok(()));
    assert_eq!(
        g.check(&upper, Some(KEY), at(1008)),
        Err(Rejection::Replayed)
    );
}

#[test]
fn forged_stale_early_and_unkeyed_calls_fail() {
    let mut g = Guard::new(HOST, at(1000));
    let now = at(1100);
    assert_eq!(
        g.check(&signed(1100, &nonce(1), "guess"), Some(KEY), now),
        Err(Rejection::Forged)
    );
    assert_eq!(
        g.check(&signed(1100 - 31, &nonce(2), KEY), Some(KEY), now),
        Err(Rejection::Stale(31))
    );
    assert_eq!(
        g.check(&signed(1100 + 40, &nonce(3), KEY), Some(KEY), now),
        Err(Rejection::Stale(-40))
    );
    assert_eq!(
        g.check(&signed(999, &nonce(4), KEY), Some(KEY), at(1001)),
        Err(Rejection::BeforeStart)
    );
    assert_eq!(
        g.check(&signed(1100, &nonce(5), KEY), None, now),
        Err(Rejection::NoSecret)
    );
    let mut c = signed(1100, &nonce(6), KEY);
    c.nonce = Some("short".into());
    assert_eq!(
        g.check(&c, Some(KEY), now),
        Err(Rejection::Malformed("nonce"))
    );
    // A call for another host does not verify here, although the key is right.
    let mut other = signed(1100, &nonce(7), KEY);
    other.signature = Some(sign(KEY, 1100, &nonce(7), "pc-2"));
    assert_eq!(g.check(&other, Some(KEY), now), Err(Rejection::Forged));
    // None of these was remembered: the good call with nonce 1 still passes.
    assert_eq!(
        g.check(&signed(1100, &nonce(1), KEY), Some(KEY), now),
        Ok(())
    );
}

#[test]
fn nonces_are_forgotten_only_once_their_calls_are_stale() {
    let mut g = Guard::new(HOST, at(1000));
    let c = signed(1000, &nonce(1), KEY);
    assert_eq!(g.check(&c, Some(KEY), at(1000)), Ok(()));
    assert_eq!(g.check(&c, Some(KEY), at(1030)), Err(Rejection::Replayed));
    assert_eq!(g.check(&c, Some(KEY), at(1031)), Err(Rejection::Stale(31)));
    assert_eq!(
        g.check(&signed(1200, &nonce(2), KEY), Some(KEY), at(1200)),
        Ok(())
    );
    assert_eq!(g.seen.len(), 1);
}

#[test]
fn heads_are_parsed_strictly() {
    let ok = format!(
        "POST {INBOUND_PATH} HTTP/1.1\r\nHost: x\r\nX-Herald-Timestamp: 5\r\nx-herald-nonce: ab\r\nX-Herald-Signature: cd\r\nContent-Length: 0\r\n\r\n"
    );
    assert_eq!(
        parse_head(ok.as_bytes()),
        Ok(Some(Call {
            timestamp: Some("5".into()),
            nonce: Some("ab".into()),
            signature: Some("cd".into()),
        }))
    );
    assert_eq!(parse_head(&ok.as_bytes()[..20]), Ok(None));
    let body = ok.replace("Content-Length: 0", "Content-Length: 12");
    assert_eq!(parse_head(body.as_bytes()), Err(Rejection::HasBody));
    let chunked = ok.replace("Content-Length: 0", "Transfer-Encoding: chunked");
    assert_eq!(parse_head(chunked.as_bytes()), Err(Rejection::HasBody));
    assert!(matches!(
        parse_head(b"GET / HTTP/1.1\r\n\r\n"),
        Err(Rejection::NotACall(_))
    ));
    assert!(matches!(
        parse_head(b"\x16\x03\x01 garbage\r\n\r\n"),
        Err(Rejection::NotACall(_))
    ));
    let long = format!(
        "POST {INBOUND_PATH} HTTP/1.1\r\nX: {}",
        "a".repeat(MAX_HEAD)
    );
    assert!(matches!(
        parse_head(long.as_bytes()),
        Err(Rejection::NotACall(_))
    ));
}

#[test]
fn rejections_run_an_address_dry_and_it_refills() {
    let t0 = Instant::now();
    let mut l = Limiter::new(t0);
    let a: IpAddr = [10, 0, 0, 1].into();
    let b: IpAddr = [10, 0, 0, 2].into();
    for _ in 0..IP_BURST as usize {
        assert_eq!(l.admit(a, t0), Admission::Admit);
        l.charge(a, t0);
    }
    assert_eq!(l.admit(a, t0), Admission::Trip);
    assert_eq!(l.admit(a, t0), Admission::Drop);
    assert_eq!(
        l.admit(b, t0),
        Admission::Admit,
        "one prober locks out another"
    );
    let later = t0 + IP_EVERY;
    assert_eq!(l.admit(a, later), Admission::Admit);
    l.charge(a, later);
    assert_eq!(
        l.admit(a, later),
        Admission::Trip,
        "a new episode is logged again"
    );
}

#[test]
fn accepted_calls_cost_nothing() {
    let t0 = Instant::now();
    let mut l = Limiter::new(t0);
    let server: IpAddr = [10, 0, 0, 9].into();
    for _ in 0..100 {
        assert_eq!(l.admit(server, t0), Admission::Admit);
    }
}

#[test]
fn many_addresses_together_hit_the_global_limit() {
    let t0 = Instant::now();
    let mut l = Limiter::new(t0);
    let mut results = Vec::new();
    for i in 0..40u8 {
        let ip: IpAddr = [10, 1, 0, i].into();
        let r = l.admit(ip, t0);
        if r == Admission::Admit {
            l.charge(ip, t0);
        }
        results.push(r);
    }
    assert_eq!(
        results.iter().filter(|r| **r == Admission::Admit).count(),
        20
    );
    assert_eq!(results.iter().filter(|r| **r == Admission::Trip).count(), 1);
}
