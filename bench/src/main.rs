//! `prakerja-bench`: the steps of `bench/run.sh` that need the application's
//! own code (seeding with its encryption, its selection, its password hashing)
//! or are easier in Rust than in shell. See bench/README.md.

mod db;
mod market;
mod purchase;
mod seed;
mod selection;
mod server_seed;
mod tools;
mod vacancies;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Benchmarks of prakerja-api (bench/README.md)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Times selection runs on N seeded applicants (quota 10%, or everyone).
    Selection {
        /// Applicant counts.
        #[arg(default_values_t = [100_000usize, 1_000_000])]
        sizes: Vec<usize>,
        /// Every applicant may win (the worst case for the writes).
        #[arg(long)]
        quota_all: bool,
        /// Runs per size (from the second on, each checks the first's outcome).
        #[arg(long, default_value_t = 2)]
        runs: usize,
    },
    /// Creates the server loads' database: N participants with cards.
    SeedServer {
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 100_000)]
        participants: usize,
        /// Directory for the login bodies and the email list.
        #[arg(long)]
        out: String,
    },
    /// Adds N vacancies and the participant's skills for the recommendations load.
    SeedVacancies {
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 10_000)]
        vacancies: i32,
        /// The account whose recommendations are measured.
        #[arg(long)]
        account: uuid::Uuid,
        /// Directory for `recommendations.sql` (the statement, for pgbench).
        #[arg(long)]
        out: String,
    },
    /// Prints an access token, logging in through the API and the sandbox inbox.
    Token {
        #[arg(long)]
        url: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = server_seed::PASSWORD)]
        password: String,
    },
    /// Prints raw argon2id verifications per second (the application's hash).
    Argon2 {
        #[arg(long, default_value_t = 2)]
        threads: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
    },
    /// Holds N idle keep-alive connections and prints the server's RSS (MiB).
    Idle {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        #[arg(long)]
        pid: u32,
    },
    /// Prints a process's resident memory (MiB).
    Rss {
        #[arg(long)]
        pid: u32,
    },
    /// Prints the figures of one oha JSON output as key=value words.
    OhaSummary { file: String },
    /// Adds partner platforms and courses to the server database.
    SeedMarket {
        #[arg(long)]
        database: String,
        #[arg(long, default_value_t = 16)]
        partners: usize,
        #[arg(long, default_value_t = 10_000)]
        courses: usize,
        /// Directory for partners.tsv (id and secret of each platform).
        #[arg(long)]
        out: String,
    },
    /// Plans purchases #FROM..#FROM+COUNT (one card each) over the first
    /// PARTNERS platforms, each with an open purchase code.
    PurchasePlan {
        #[arg(long)]
        database: String,
        #[arg(long)]
        from: i64,
        #[arg(long)]
        count: i64,
        #[arg(long, default_value_t = 16)]
        partners: i64,
    },
    /// Sends the planned purchases, signed, and prints the figures.
    Purchase {
        #[arg(long)]
        url: String,
        #[arg(long)]
        database: String,
        /// partners.tsv of seed-market.
        #[arg(long)]
        partners: String,
        #[arg(long)]
        from: i64,
        #[arg(long)]
        count: i64,
        #[arg(long, default_value_t = 16)]
        workers: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Open loop at this many requests per second (default: closed loop).
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Prints the SQL of GET /v1/courses?q=… as a pgbench script (:tsq, :phrase).
    SearchScript,
    /// Prints the pgbench variables of keyword Q: tsq=… and phrase=…, one a line.
    SearchVars { q: String },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BENCH_LOG")
                .unwrap_or_else(|_| "warn,prakerja_api::batches=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    match Cli::parse().command {
        Command::Selection {
            sizes,
            quota_all,
            runs,
        } => selection::main(&sizes, quota_all, runs).await,
        Command::SeedServer {
            database,
            participants,
            out,
        } => server_seed::main(&database, participants, &out).await,
        Command::SeedVacancies {
            database,
            vacancies,
            account,
            out,
        } => vacancies::main(&database, vacancies, account, &out).await,
        Command::Token {
            url,
            email,
            password,
        } => tools::token(&url, &email, &password).await,
        Command::Argon2 { threads, seconds } => tools::argon2(threads, seconds),
        Command::Idle {
            addr,
            connections,
            pid,
        } => tools::idle(&addr, connections, pid).await,
        Command::Rss { pid } => {
            println!("{:.1}", tools::rss_mib(pid)?);
            Ok(())
        }
        Command::OhaSummary { file } => tools::oha_summary(&file),
        Command::SeedMarket {
            database,
            partners,
            courses,
            out,
        } => market::seed(&database, partners, courses, &out).await,
        Command::PurchasePlan {
            database,
            from,
            count,
            partners,
        } => market::plan(&database, from, count, partners).await,
        Command::Purchase {
            url,
            database,
            partners,
            from,
            count,
            workers,
            seconds,
            rate,
        } => {
            purchase::main(purchase::Options {
                url,
                database,
                partners,
                from,
                count,
                workers,
                seconds,
                rate,
            })
            .await
        }
        Command::SearchScript => {
            println!("{}", market::search_script());
            Ok(())
        }
        Command::SearchVars { q } => {
            let (tsq, phrase) = market::search_vars(&q)?;
            println!("tsq={tsq}\nphrase={phrase}");
            Ok(())
        }
    }
}
