//! PostgreSQL taken away under load, through a proxy between the app and the real server.

use crate::helpers::{Options, Owner, PASSWORD, TestApp, spawn_app_with};
use partneros_test_support::{Link, TcpProxy, TestDatabase};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const POOL_WAIT: Duration = Duration::from_millis(500);
/// The server-side statement limit of these apps; a connection silent for twice as long while an
/// answer is due is given up.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(1);
const SILENCE: Duration = Duration::from_secs(2);
/// Past this a request counts as hung (the client gives up and records a transport error).
const HANG: Duration = Duration::from_secs(10);

/// An app whose database is reached only through `proxy`.
async fn app_behind_proxy() -> (TestApp, TcpProxy) {
    let db = TestDatabase::new().await;
    let proxy = TcpProxy::start(&db.server_address()).await;
    let url = db.url_via(proxy.address());
    let app = spawn_app_with(Options {
        db: Some(db),
        database_url: Some(url),
        pool_wait_ms: POOL_WAIT.as_millis() as u64,
        pool_size: 6,
        config: Box::new(|c| c.database.statement_timeout = STATEMENT_TIMEOUT),
        ..Options::default()
    })
    .await;
    (app, proxy)
}

#[derive(Debug)]
struct Outcome {
    op: &'static str,
    started: Instant,
    finished: Instant,
    /// The status, or the transport error (a hang ends here too).
    status: Result<u16, String>,
    code: String,
    /// For creations: the partner's name and, when created, its id.
    created: Option<(String, Option<String>)>,
}

impl Outcome {
    fn took(&self) -> Duration {
        self.finished - self.started
    }
}

struct Load {
    app: Arc<TestApp>,
    token: String,
    /// One account per load client: sign-in attempts of one account are reserved before the
    /// password is checked, so more than five at once would be refused (429) by design.
    emails: Vec<String>,
    partner_id: String,
    stop: AtomicBool,
}

async fn send(load: &Load, op: &'static str, n: usize) -> Outcome {
    let base = &load.app.address;
    let http = &load.app.http;
    let mut created = None;
    let req = match op {
        "list" => http
            .get(format!("{base}/api/partners?limit=10"))
            .bearer_auth(&load.token),
        "get" => http
            .get(format!("{base}/api/partners/{}", load.partner_id))
            .bearer_auth(&load.token),
        "create" => {
            let name = format!("Load {n}");
            created = Some((name.clone(), None));
            http.post(format!("{base}/api/partners"))
                .bearer_auth(&load.token)
                .json(&json!({
                    "name": name, "domain": format!("load-{n}.example"), "type": "reseller",
                    "primaryContact": {"firstName": "Lee", "lastName": "Load",
                                       "email": format!("load-{n}@example.com")}
                }))
        }
        _ => http
            .post(format!("{base}/api/auth/sign-in/email"))
            .json(&json!({"email": load.emails[n / 100_000], "password": PASSWORD})),
    };
    let started = Instant::now();
    let res = req.timeout(HANG).send().await;
    let (status, body) = match res {
        Ok(res) => {
            let status = res.status().as_u16();
            match res.json::<Value>().await {
                Ok(body) => (Ok(status), body),
                Err(e) => (Err(format!("{status}, unreadable body: {e}")), Value::Null),
            }
        }
        Err(e) => (Err(e.to_string()), Value::Null),
    };
    if let (Some((_, id)), Ok(201)) = (created.as_mut(), &status) {
        *id = body["partner"]["id"].as_str().map(str::to_owned);
    }
    Outcome {
        op,
        started,
        finished: Instant::now(),
        status,
        code: body["code"].as_str().unwrap_or_default().to_owned(),
        created,
    }
}

/// One client of the background load: requests one after another, a few milliseconds apart.
async fn client(load: Arc<Load>, id: usize) -> Vec<Outcome> {
    const OPS: [&str; 4] = ["list", "get", "create", "sign-in"];
    let mut out = Vec::new();
    let mut i = 0;
    while !load.stop.load(Ordering::Relaxed) {
        let op = OPS[(i + id) % OPS.len()];
        out.push(send(&load, op, id * 100_000 + i).await);
        i += 1;
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    out
}

async fn timed_get(app: &TestApp, path: &str) -> (u16, Duration) {
    let started = Instant::now();
    let res = app
        .http
        .get(format!("{}{path}", app.address))
        .timeout(HANG)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path} hung or failed: {e}"));
    (res.status().as_u16(), started.elapsed())
}

async fn wait_until_ready(app: &TestApp, within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        if timed_get(app, "/readyz").await.0 == 200 {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "/readyz not 200 within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What a fault run saw.
struct Run {
    app: Arc<TestApp>,
    outcomes: Vec<Outcome>,
    fault_at: Instant,
    restored_at: Instant,
    ready_at: Instant,
}

/// Background load on an app behind a proxy; `link` for `lasting`, then up again until the
/// process serves and a second more. Midway through the fault `/readyz` must answer 503 and
/// `/healthz` 200, each within `bound`.
async fn fault_under_load(link: Link, lasting: Duration, bound: Duration) -> Run {
    let (app, proxy) = app_behind_proxy().await;
    let owner = app.owner("load").await;
    let mut emails = Vec::new();
    for id in 0..10 {
        let tag = format!("load{id}");
        app.member(&owner, "viewer", &tag).await;
        emails.push(format!("viewer-{tag}@example.com"));
    }
    let Owner { token, .. } = owner;
    let seeded = app
        .create_partner(&token, "Seeded", Some("seeded.example"))
        .await;
    let load = Arc::new(Load {
        app: Arc::new(app),
        token,
        emails,
        partner_id: seeded["id"].as_str().unwrap().to_owned(),
        stop: AtomicBool::new(false),
    });
    let clients: Vec<_> = (0..10)
        .map(|id| tokio::spawn(client(load.clone(), id)))
        .collect();
    let app = load.app.clone();

    tokio::time::sleep(Duration::from_millis(800)).await;
    let fault_at = Instant::now();
    proxy.set(link);
    tokio::time::sleep(lasting / 3).await;
    let (ready, took) = timed_get(&app, "/readyz").await;
    assert_eq!(ready, 503, "/readyz with the database away");
    assert!(took <= bound, "/readyz took {took:?}");
    let (health, took) = timed_get(&app, "/healthz").await;
    assert_eq!(health, 200, "/healthz does not depend on the database");
    assert!(took <= Duration::from_millis(500), "/healthz took {took:?}");
    tokio::time::sleep(fault_at + lasting - Instant::now()).await;

    let restored_at = Instant::now();
    proxy.set(Link::Up);
    let ready_at = wait_until_ready(&app, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    load.stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for c in clients {
        outcomes.extend(c.await.expect("a load client"));
    }

    // Every answer is a success or a 503 `unavailable`, within the bound; none hangs, none is 500.
    for o in &outcomes {
        match &o.status {
            Ok(200 | 201) => {}
            Ok(503) => assert_eq!(o.code, "unavailable", "{o:?}"),
            other => panic!("{} answered {other:?}: {o:?}", o.op),
        }
        assert!(o.took() <= bound, "{} took {:?}: {o:?}", o.op, o.took());
    }
    // While it was away, every request (all of them need it) was refused with 503 …
    let while_away: Vec<_> = outcomes
        .iter()
        .filter(|o| o.started >= fault_at && o.finished <= restored_at)
        .collect();
    assert!(
        while_away.len() >= 12,
        "too little load: {}",
        while_away.len()
    );
    for o in &while_away {
        assert_eq!(o.status, Ok(503), "{o:?}");
    }
    // … and once it is back the same process serves again.
    let after: Vec<_> = outcomes.iter().filter(|o| o.started >= ready_at).collect();
    assert!(
        after.len() >= 12,
        "too little load after recovery: {}",
        after.len()
    );
    for o in &after {
        assert!(matches!(o.status, Ok(200 | 201)), "after recovery: {o:?}");
    }
    assert!(
        outcomes
            .iter()
            .any(|o| o.started < fault_at && o.status == Ok(201)),
        "creations succeeded before the fault"
    );
    eprintln!(
        "{link:?}: {} requests, {} answered 503, slowest answer {:?}, back {:?} after the link",
        outcomes.len(),
        outcomes.iter().filter(|o| o.status == Ok(503)).count(),
        outcomes.iter().map(Outcome::took).max().unwrap(),
        ready_at - restored_at,
    );
    Run {
        app,
        outcomes,
        fault_at,
        restored_at,
        ready_at,
    }
}

/// Nothing half-written: every partner is whole, the outbox agrees with the tables, every 201
/// left its partner and no refused creation did (except one whose COMMIT was in flight when the
/// link went: its row may exist, whole, with only the answer lost).
async fn assert_nothing_half_written(run: &Run) {
    let sql = run.app.db.client().await;
    let incomplete: Vec<String> = sql
        .query(
            "SELECT p.name FROM partners p WHERE
               NOT EXISTS (SELECT 1 FROM partner_contacts c WHERE c.partner_id = p.id AND c.is_primary)
               OR NOT EXISTS (SELECT 1 FROM members m JOIN partner_contacts c ON c.user_id = m.user_id
                              WHERE m.partner_id = p.id AND m.role = 'partner' AND c.partner_id = p.id)
               OR NOT EXISTS (SELECT 1 FROM invitations i WHERE i.partner_id = p.id)
               OR NOT EXISTS (SELECT 1 FROM events e WHERE e.kind = 'partner_created'
                              AND e.payload->>'partnerId' = p.id::text)
               OR (p.domain IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM analysis_jobs j WHERE j.partner_id = p.id))",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        incomplete.is_empty(),
        "half-written partners: {incomplete:?}"
    );
    let count = |q: &'static str| {
        let sql = &sql;
        async move { sql.query_one(q, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let partners = count("SELECT count(*) FROM partners").await;
    assert_eq!(
        count("SELECT count(*) FROM events WHERE kind = 'partner_created'").await,
        partners
    );
    assert_eq!(
        count("SELECT count(*) FROM events WHERE kind = 'invitation_created'").await,
        count("SELECT count(*) FROM invitations").await
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM users u \
             WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.user_id = u.id)"
        )
        .await,
        0,
        "no account without its membership"
    );
    let names: HashSet<String> = sql
        .query("SELECT name FROM partners", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let creations: Vec<_> = run
        .outcomes
        .iter()
        .filter(|o| o.created.is_some())
        .collect();
    let mut in_doubt = 0;
    for o in &creations {
        let (name, id) = o.created.as_ref().unwrap();
        if o.status == Ok(201) {
            assert!(
                id.is_some() && names.contains(name),
                "a 201 left no row: {o:?}"
            );
        } else if o.started < run.fault_at && o.finished > run.fault_at {
            in_doubt += usize::from(names.contains(name));
        } else {
            assert!(
                !names.contains(name),
                "a refused creation left a row: {o:?}"
            );
        }
    }
    let created = creations.iter().filter(|o| o.status == Ok(201)).count();
    assert_eq!(
        partners as usize,
        1 + created + in_doubt,
        "the seeded partner and the 201s"
    );
    eprintln!(
        "{created} partners created, {} creations refused, {in_doubt} committed with the answer lost",
        creations.len() - created
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_under_load_answers_503_fast_and_recovers_with_nothing_half_written() {
    // Open connections are reset and new ones are reset as they arrive: every request answers
    // within the pool's wait and a second.
    let run = fault_under_load(
        Link::Down,
        Duration::from_millis(2200),
        POOL_WAIT + Duration::from_secs(1),
    )
    .await;
    assert!(run.ready_at - run.restored_at < Duration::from_secs(2));
    assert_nothing_half_written(&run).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_database_answers_503_within_the_silence_bound_and_recovers() {
    // The proxy accepts and forwards nothing: a hung server. A request holding a connection gives
    // up once it has heard nothing for SILENCE; one needing a new connection after the pool's
    // wait. Nothing waits longer than SILENCE and a second.
    let run = fault_under_load(
        Link::Stalled,
        SILENCE + Duration::from_millis(1500),
        SILENCE + Duration::from_secs(1),
    )
    .await;
    assert_nothing_half_written(&run).await;
}
