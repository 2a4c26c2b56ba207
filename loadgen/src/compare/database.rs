//! The database behind the database scenarios (db, queries, fortunes, updates): a throwaway
//! PostgreSQL that this run starts and removes, pinned to its CPUs, or an existing one given by
//! `--database-url`, whose schema is checked and whose data is never dropped.

use std::time::Duration;

use harness::postgres::{self, Postgres, PostgresError};
use thiserror::Error;

use crate::cli::CompareArgs;
use crate::machine::CpuSplit;
use crate::results::DatabaseSettings;

/// Where the database comes from, decided with the plan (before anything starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabasePlan {
    /// No database scenarios, and why (one line, for the summary).
    Off(String),
    /// A throwaway cluster, pinned to these CPUs (a `taskset -c` list) when the CPUs are split.
    Throwaway {
        /// The CPU list, or `None` when nothing is pinned.
        cpus: Option<String>,
    },
    /// An existing database.
    Existing {
        /// Its URL.
        url: String,
    },
}

impl DatabasePlan {
    /// From the command line and the machine: `--no-database` turns it off; `--database-url`
    /// names one; otherwise a throwaway cluster when PostgreSQL is installed, on `--db-cpus`
    /// or the servers' CPUs (on two cores the database shares the server's CPU: the load
    /// generator's CPU must stay its own, and what the database costs belongs to the server's
    /// side of the measurement).
    pub fn of(args: &CompareArgs, cpus: &CpuSplit) -> Self {
        if args.no_database {
            return Self::Off("--no-database".to_owned());
        }
        if let Some(url) = &args.database_url {
            return Self::Existing { url: url.clone() };
        }
        if args.targets.is_some() {
            return Self::Off(
                "the servers run elsewhere: give --database-url, the database they use, to load the database routes"
                    .to_owned(),
            );
        }
        if postgres::installed().is_none() {
            return Self::Off(PostgresError::NotInstalled.to_string());
        }
        Self::Throwaway {
            cpus: args
                .db_cpus
                .clone()
                .or_else(|| cpus.pinned.then(|| crate::machine::cpu_list(&cpus.server))),
        }
    }

    /// Why there are no database scenarios, when there are none.
    pub fn off(&self) -> Option<&str> {
        match self {
            Self::Off(why) => Some(why),
            _ => None,
        }
    }
}

/// Why the database could not be had.
#[derive(Debug, Error)]
pub enum DatabaseError {
    /// Starting the throwaway cluster, or checking the existing one, failed.
    #[error(transparent)]
    Postgres(#[from] PostgresError),
}

/// The database of a run, while it runs.
#[derive(Debug)]
pub struct Database {
    throwaway: Option<Postgres>,
    url: String,
    /// As recorded.
    pub settings: DatabaseSettings,
}

impl Database {
    /// Starts or checks the database of `plan`; `None` when it is off.
    pub fn open(plan: &DatabasePlan) -> Result<Option<Self>, DatabaseError> {
        match plan {
            DatabasePlan::Off(_) => Ok(None),
            DatabasePlan::Existing { url } => {
                postgres::check_schema(url)?;
                Ok(Some(Self {
                    throwaway: None,
                    url: url.clone(),
                    settings: DatabaseSettings {
                        source: format!("existing, at {}", postgres::hide_password(url)),
                        cpus: None,
                    },
                }))
            }
            DatabasePlan::Throwaway { cpus } => {
                let cluster = Postgres::start_pinned(cpus.as_deref())?;
                let source = format!(
                    "throwaway PostgreSQL {}, TechEmpower's settings, started for this run",
                    cluster
                        .version()
                        .unwrap_or_else(|| "(version unknown)".to_owned())
                );
                Ok(Some(Self {
                    url: cluster.url(),
                    throwaway: Some(cluster),
                    settings: DatabaseSettings {
                        source,
                        cpus: cpus.clone(),
                    },
                }))
            }
        }
    }

    /// The URL the servers get.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// CPU time the database has used so far, when it runs here; `None` for an existing one.
    pub fn cpu_time(&self) -> Option<Duration> {
        self.throwaway.as_ref().and_then(Postgres::cpu_time)
    }
}
