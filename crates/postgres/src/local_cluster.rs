//! A private PostgreSQL cluster for newcomers and tests, started from the installed binaries
//! when no server answers. Not for production.

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the PostgreSQL binaries (initdb, pg_ctl) are not installed")]
    NoBinaries,
    #[error("{step} failed: {output}")]
    Step { step: &'static str, output: String },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn find_bin_dir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = rd.flatten().map(|e| e.path().join("bin")).collect();
        versions.sort();
        candidates.extend(versions.into_iter().rev());
    }
    candidates
        .into_iter()
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root; as root, run it as the `postgres` system user.
fn command(bin: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn run(step: &'static str, mut cmd: Command) -> Result<(), ClusterError> {
    let out = cmd.output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(ClusterError::Step {
            step,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }
}

/// Initializes (once) and starts (if stopped) a trust-auth cluster in `dir` listening on
/// 127.0.0.1:`port`; returns the URL of its `postgres` database.
pub async fn ensure_running(dir: &Path, port: u16) -> Result<String, ClusterError> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || ensure_running_blocking(&dir, port))
        .await
        .map_err(|e| ClusterError::Io(std::io::Error::other(e)))?
}

fn ensure_running_blocking(dir: &Path, port: u16) -> Result<String, ClusterError> {
    let bin = find_bin_dir().ok_or(ClusterError::NoBinaries)?;
    let as_postgres = is_root();
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    if as_postgres {
        run("chown", {
            let mut c = Command::new("chown");
            c.args(["-R", "postgres"]).arg(&dir);
            c
        })?;
    }
    if !dir.join("PG_VERSION").exists() {
        let mut c = command(&bin.join("initdb"), as_postgres);
        c.arg("-D")
            .arg(&dir)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
        run("initdb", c)?;
    }
    let running = command(&bin.join("pg_ctl"), as_postgres)
        .arg("-D")
        .arg(&dir)
        .arg("status")
        .output()?
        .status
        .success();
    if !running {
        let mut c = command(&bin.join("pg_ctl"), as_postgres);
        c.arg("-D")
            .arg(&dir)
            .arg("-l")
            .arg(dir.join("server.log"))
            .arg("-o")
            .arg(format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                dir.display()
            ))
            .args(["-w", "start"]);
        run("pg_ctl start", c)?;
    }
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}
