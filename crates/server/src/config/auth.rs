//! Accounts: sign-up, the first account, abuse limits and password hashing.

use super::ConfigError;
use super::vars::{Vars, err};
use partneros_domain::identity::auth::AuthLimits;
use partneros_domain::shared::secret::Secret;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `SIGNUP_ENABLED`.
    pub signup_enabled: bool,
    /// The first account, created at start (`BOOTSTRAP_*`).
    pub bootstrap: Option<Bootstrap>,
    /// Print a demo account on an empty development database.
    pub demo_account: bool,
    /// Per-address limits of sign-in, sign-up and password reset requests
    /// (`SIGN_INS_PER_ADDRESS`, `SIGN_UPS_PER_ADDRESS`, `PASSWORD_RESETS_PER_ADDRESS`).
    pub limits: AuthLimits,
    pub hashing: HashingConfig,
}

/// `BOOTSTRAP_EMAIL`, `BOOTSTRAP_PASSWORD` and `BOOTSTRAP_ORGANIZATION`.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub email: String,
    pub password: Secret,
    pub organization: String,
}

/// Argon2 and how many hashes may run at once.
#[derive(Debug, Clone)]
pub struct HashingConfig {
    /// Argon2 memory cost in KiB (19 MiB by default, the OWASP recommendation).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// Password hashes that may run at once (`HASHING_CONCURRENCY`; one per core by default).
    pub slots: usize,
    /// How long a request waits for a hashing slot before answering 503 (`HASHING_WAIT_MS`).
    pub wait: Duration,
}

impl HashingConfig {
    /// The Argon2 hasher these settings describe.
    pub fn hasher(&self) -> anyhow::Result<crate::passwords::Argon2Hasher> {
        Ok(crate::passwords::Argon2Hasher::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.slots,
            self.wait,
        )?)
    }

    fn from_vars(vars: &Vars) -> Result<Self, ConfigError> {
        let slots = match vars.get("HASHING_CONCURRENCY") {
            None => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            Some(_) => vars.number("HASHING_CONCURRENCY", 1usize)?,
        };
        if !(1..=256).contains(&slots) {
            return Err(err("HASHING_CONCURRENCY", "must be between 1 and 256"));
        }
        Ok(Self {
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            slots,
            wait: Duration::from_millis(vars.number("HASHING_WAIT_MS", 2000)?),
        })
    }
}

impl AuthConfig {
    pub(super) fn from_vars(vars: &Vars, development: bool) -> Result<Self, ConfigError> {
        let bootstrap = bootstrap(vars)?;
        let hashing = HashingConfig::from_vars(vars)?;
        let limits = AuthLimits {
            sign_ins_per_address: vars.number("SIGN_INS_PER_ADDRESS", 30)?,
            sign_ups_per_address: vars.number("SIGN_UPS_PER_ADDRESS", 10)?,
            password_resets_per_address: vars.number("PASSWORD_RESETS_PER_ADDRESS", 20)?,
        };
        for (variable, limit) in [
            ("SIGN_INS_PER_ADDRESS", limits.sign_ins_per_address),
            ("SIGN_UPS_PER_ADDRESS", limits.sign_ups_per_address),
            (
                "PASSWORD_RESETS_PER_ADDRESS",
                limits.password_resets_per_address,
            ),
        ] {
            if limit == 0 {
                return Err(err(variable, "must be at least 1"));
            }
        }
        Ok(Self {
            signup_enabled: vars.bool("SIGNUP_ENABLED", true)?,
            bootstrap,
            demo_account: development,
            limits,
            hashing,
        })
    }
}

fn bootstrap(vars: &Vars) -> Result<Option<Bootstrap>, ConfigError> {
    match (
        vars.get("BOOTSTRAP_EMAIL"),
        vars.get("BOOTSTRAP_PASSWORD"),
        vars.get("BOOTSTRAP_ORGANIZATION"),
    ) {
        (None, None, None) => Ok(None),
        (Some(e), Some(p), Some(o)) => {
            partneros_domain::shared::values::Email::parse(e)
                .map_err(|m| err("BOOTSTRAP_EMAIL", m.0))?;
            partneros_domain::identity::password::Password::parse(p)
                .map_err(|m| err("BOOTSTRAP_PASSWORD", m.0))?;
            Ok(Some(Bootstrap {
                email: e.to_owned(),
                password: Secret::new(p),
                organization: o.to_owned(),
            }))
        }
        (e, p, _) => {
            let missing = if e.is_none() {
                "BOOTSTRAP_EMAIL"
            } else if p.is_none() {
                "BOOTSTRAP_PASSWORD"
            } else {
                "BOOTSTRAP_ORGANIZATION"
            };
            Err(err(
                missing,
                "BOOTSTRAP_EMAIL, BOOTSTRAP_PASSWORD and BOOTSTRAP_ORGANIZATION go together",
            ))
        }
    }
}
