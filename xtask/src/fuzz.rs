//! `cargo xtask fuzz`: random calls over the `mlx` crate's public API (the `fuzz` example of the
//! `mlx` crate), in batches run by child processes so that a call that kills its process (a
//! signal, an abort) or hangs is caught. Each failing call is shrunk to a minimal one by
//! replaying simpler choice lists, then reported. Exits with failure if anything was found.
//!
//! ```text
//! cargo xtask fuzz [--seconds N] [--seed S]... [--batch B] [--timeout T] [--address-space-mb M]
//! ```

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Options {
    seconds: u64,
    seeds: Vec<u64>,
    batch: u64,
    timeout: Duration,
    address_space_mb: Option<u64>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        seconds: 60,
        seeds: Vec::new(),
        batch: 200,
        timeout: Duration::from_secs(20),
        address_space_mb: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--seconds" => o.seconds = value("--seconds")?,
            "--seed" => o.seeds.push(value("--seed")?),
            "--batch" => o.batch = value("--batch")?.max(1),
            "--timeout" => o.timeout = Duration::from_secs(value("--timeout")?.max(1)),
            "--address-space-mb" => o.address_space_mb = Some(value("--address-space-mb")?),
            other => return Err(format!("fuzz: unknown option {other}")),
        }
    }
    if o.seeds.is_empty() {
        o.seeds.push(1);
    }
    Ok(o)
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    Err,
    /// An impossible result (negative or overflowing shape) or a panic inside the crate.
    Bad(String),
    /// The process died (signal or abort) during the call.
    Died(String),
    Hang,
}

impl Outcome {
    fn is_failure(&self) -> bool {
        matches!(self, Outcome::Bad(_) | Outcome::Died(_) | Outcome::Hang)
    }
    fn kind(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Err => "err",
            Outcome::Bad(_) => "bad result",
            Outcome::Died(_) => "abort",
            Outcome::Hang => "hang",
        }
    }
}

/// One call as the child reported it.
struct Report {
    index: u64,
    choices: String,
    description: Option<String>,
    outcome: Outcome,
}

fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"));
    target.join("debug").join("examples").join("fuzz")
}

fn spawn(o: &Options, args: &[String]) -> Result<Child, String> {
    let bin = binary();
    let mut cmd = match o.address_space_mb {
        // The limit applies to the child only (not to cargo or this process).
        Some(mb) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("ulimit -v {}; exec \"$0\" \"$@\"", mb * 1024))
                .arg(&bin);
            c
        }
        None => Command::new(&bin),
    };
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))
}

/// Runs the child, turning its lines into reports; a call that does not finish within the
/// timeout is a hang, a child that dies mid-call an abort.
fn drive(o: &Options, args: &[String], mut on_report: impl FnMut(Report)) -> Result<(), String> {
    let mut child = spawn(o, args)?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        let mut r = BufReader::new(stdout);
        let mut line = Vec::new();
        loop {
            line.clear();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line).trim_end().to_string();
                    if tx.send(text).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut current: Option<(u64, String)> = None;
    let mut description = None;
    let mut hung = false;
    loop {
        match rx.recv_timeout(o.timeout) {
            Ok(line) => {
                if let Some(rest) = line.strip_prefix("B ") {
                    let (i, c) = rest.split_once(' ').unwrap_or((rest, ""));
                    current = Some((i.parse().unwrap_or(0), c.to_string()));
                    description = None;
                } else if let Some(d) = line.strip_prefix("D ") {
                    description = Some(d.to_string());
                } else if let Some(rest) = line.strip_prefix("E ") {
                    let (_, verdict) = rest.split_once(' ').unwrap_or((rest, ""));
                    let outcome = if verdict == "ok" {
                        Outcome::Ok
                    } else if verdict.starts_with("err") {
                        Outcome::Err
                    } else {
                        Outcome::Bad(verdict.to_string())
                    };
                    if let Some((index, choices)) = current.take() {
                        on_report(Report {
                            index,
                            choices,
                            description: description.take(),
                            outcome,
                        });
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                hung = true;
                let _ = child.kill();
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    // After a kill, the reader delivers what the child had written of the last line.
    for line in rx.try_iter() {
        if let Some(rest) = line.strip_prefix("B ") {
            let (i, c) = rest.split_once(' ').unwrap_or((rest, ""));
            current = Some((i.parse().unwrap_or(0), c.to_string()));
        } else if let Some(d) = line.strip_prefix("D ") {
            description = Some(d.to_string());
        }
    }
    let _ = reader.join();
    if let Some((index, choices)) = current {
        let outcome = if hung {
            Outcome::Hang
        } else {
            Outcome::Died(death(&status))
        };
        on_report(Report {
            index,
            choices,
            description,
            outcome,
        });
    }
    Ok(())
}

fn death(status: &std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("signal {sig}");
        }
    }
    format!("{status}")
}

/// Replays one choice list; its outcome and description.
fn replay(o: &Options, choices: &str) -> (Outcome, Option<String>) {
    let mut got = (Outcome::Died("no report".into()), None);
    let args = vec!["replay".to_string(), choices.to_string()];
    if drive(o, &args, |r| got = (r.outcome, r.description)).is_err() {
        return (Outcome::Died("cannot start".into()), None);
    }
    got
}

/// Shrinks a failing choice list: removes entries and lowers values while the replay still
/// fails the same way.
fn shrink(o: &Options, choices: &str, failure: &Outcome) -> String {
    let same = |out: &Outcome| std::mem::discriminant(out) == std::mem::discriminant(failure);
    let mut best: Vec<u64> = choices
        .split(',')
        .filter(|x| !x.is_empty())
        .filter_map(|x| x.parse().ok())
        .collect();
    let budget = if *failure == Outcome::Hang { 8 } else { 120 };
    let started = Instant::now();
    let mut tries = 0;
    let text = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
    let mut progress = true;
    while progress && tries < budget && started.elapsed() < Duration::from_secs(90) {
        progress = false;
        // Drop entries from the end (later choices), then lower each one.
        let mut i = best.len();
        while i > 0 && tries < budget {
            i -= 1;
            let mut candidates = vec![];
            let mut removed = best.clone();
            removed.remove(i);
            candidates.push(removed);
            if best[i] > 0 {
                let mut zero = best.clone();
                zero[i] = 0;
                candidates.push(zero);
                if best[i] > 1 {
                    let mut half = best.clone();
                    half[i] /= 2;
                    candidates.push(half);
                }
            }
            for c in candidates {
                tries += 1;
                if same(&replay(o, &text(&c)).0) {
                    best = c;
                    progress = true;
                    break;
                }
            }
            i = i.min(best.len());
        }
    }
    text(&best)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    crate::cargo(&["build", "--quiet", "-p", "mlx-array", "--example", "fuzz"])?;
    let started = Instant::now();
    let per_seed = Duration::from_secs(o.seconds) / o.seeds.len() as u32;
    let (mut calls, mut ok, mut err) = (0u64, 0u64, 0u64);
    let mut findings: Vec<Report> = Vec::new();
    for &seed in &o.seeds {
        let seed_start = Instant::now();
        let mut next = 0u64;
        while seed_start.elapsed() < per_seed {
            let args = vec![
                "run".to_string(),
                seed.to_string(),
                next.to_string(),
                o.batch.to_string(),
            ];
            let mut last = None;
            drive(&o, &args, |r| {
                calls += 1;
                last = Some(r.index);
                match r.outcome {
                    Outcome::Ok => ok += 1,
                    Outcome::Err => err += 1,
                    _ => {
                        eprintln!(
                            "fuzz: seed {seed} call {}: {} ({:?})",
                            r.index,
                            r.outcome.kind(),
                            r.outcome
                        );
                        findings.push(r);
                    }
                }
            })?;
            next = last.map_or(next + o.batch, |l| l + 1);
        }
    }
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let count = |k: &str| findings.iter().filter(|f| f.outcome.kind() == k).count();
    for f in &findings {
        let small = shrink(&o, &f.choices, &f.outcome);
        let (outcome, description) = replay(&o, &small);
        println!(
            "fuzz: FOUND {} at call {}: {:?}\n  minimal call: {}\n  replay: {} replay {small}\n  (now: {:?})",
            f.outcome.kind(),
            f.index,
            f.outcome,
            description
                .or_else(|| f.description.clone())
                .unwrap_or_else(|| "(died while building it)".into()),
            binary().display(),
            outcome
        );
    }
    let seeds: Vec<String> = o.seeds.iter().map(u64::to_string).collect();
    println!(
        "fuzz: {calls} calls, {ok} ok, {err} err, {} aborts, {} hangs, {} bad results, {minutes:.1} min, seeds {}",
        count("abort"),
        count("hang"),
        count("bad result"),
        seeds.join(",")
    );
    if findings.iter().any(|f| f.outcome.is_failure()) {
        Err(format!("fuzz: {} failing calls", findings.len()))
    } else {
        Ok(())
    }
}
