use anyhow::Context;
use clap::{Parser, Subcommand};
use partneros_server::config::{self, Config, Mode, Vars};
use partneros_server::{admin, analyze, database, startup, telemetry};

/// The Partners API server.
#[derive(Parser)]
#[command(name = "partneros", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Re-analyze every partner of an organization (by slug or id), showing progress.
    Analyze {
        #[arg(long)]
        organization: String,
        /// Bypass the 7-day domain cache (each partner counts against the organization's
        /// ANALYSIS_REFRESHES_PER_DAY, as model calls do against LLM_CALLS_PER_DAY).
        #[arg(long)]
        refresh: bool,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user with a password.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// The password (or set PARTNEROS_PASSWORD to keep it out of the shell history).
        #[arg(long, env = "PARTNEROS_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Create an organization owned by an existing user.
    CreateOrganization {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: Option<String>,
        #[arg(long)]
        owner_email: String,
    },
    /// Add an existing user to an organization (by slug or id) with a role.
    AddMember {
        #[arg(long)]
        organization: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        role: String,
    },
    /// Create an organization API key and print it once.
    CreateApiKey {
        #[arg(long)]
        organization: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "member")]
        role: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // `.env` is a development convenience; production reads only the real environment.
    if config::loads_dotenv(std::env::var("APP_ENV").ok().as_deref()) {
        let _ = dotenvy::dotenv();
    }
    let config = match Config::from_vars(&Vars::from_env()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    telemetry::init_logs(config.mode == Mode::Production);
    actix_web::rt::System::new().block_on(run(cli.command.unwrap_or(Command::Serve), config))
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = startup::start(&config).await?;
            app.run_until_stopped().await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate => {
            let url = database::resolve(&config).await?;
            let n = partneros_postgres::migrate(&url)
                .await
                .map_err(|e| anyhow::anyhow!("migrating: {e}"))?;
            println!("applied {n} migration(s)");
            Ok(())
        }
        Command::Analyze {
            organization,
            refresh,
        } => {
            let url = database::resolve(&config).await?;
            if config.mode == Mode::Development {
                partneros_postgres::migrate(&url)
                    .await
                    .map_err(|e| anyhow::anyhow!("migrating: {e}"))?;
            }
            analyze::run(&config, &url, &organization, refresh).await
        }
        Command::Admin(cmd) => {
            let url = database::resolve(&config).await?;
            if config.mode == Mode::Development {
                partneros_postgres::migrate(&url)
                    .await
                    .map_err(|e| anyhow::anyhow!("migrating: {e}"))?;
            }
            let admin = admin::Admin {
                db: partneros_postgres::connect(&url, &Default::default())?,
                hasher: config.hasher()?,
            };
            match cmd {
                AdminCommand::CreateUser {
                    email,
                    name,
                    password,
                } => {
                    let id = admin.create_user(&email, &name, &password).await?;
                    println!("created user {id}");
                }
                AdminCommand::CreateOrganization {
                    name,
                    slug,
                    owner_email,
                } => {
                    let (id, slug) = admin
                        .create_organization(&name, slug.as_deref(), &owner_email)
                        .await
                        .context("creating the organization")?;
                    println!("created organization {id} ({slug})");
                }
                AdminCommand::AddMember {
                    organization,
                    email,
                    role,
                } => {
                    admin.add_member(&organization, &email, &role).await?;
                    println!("added {email} as {role}");
                }
                AdminCommand::CreateApiKey {
                    organization,
                    name,
                    role,
                } => {
                    let key = admin.create_api_key(&organization, &name, &role).await?;
                    println!("{}", key.expose());
                }
            }
            Ok(())
        }
    }
}
