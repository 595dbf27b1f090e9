//! The results of a run: medians, the Markdown table with ratios, the JSON dump.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::burn_cases::Timing;
use crate::cases::Case;

/// Every peer, in column order: (key, column title). The keys are those of the results and of
/// the Python scripts' output.
pub const PEERS: [(&str, &str); 7] = [
    ("burn-mlx", "burn-mlx"),
    ("burn-mlx-compiled", "burn-mlx compiled"),
    ("mlx-eager", "MLX eager"),
    ("mlx-compiled", "MLX compiled"),
    ("burn-ndarray", "burn-ndarray"),
    ("burn-cuda", "burn-cuda"),
    ("torch", "PyTorch"),
];

/// The peer that the ratio columns and the chart compare against.
pub const BASELINE: &str = "mlx-eager";

/// The column title of peer `key`.
pub fn title(key: &str) -> &str {
    PEERS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, t)| t)
}

/// How one case went on one peer.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// It ran.
    Timed(Timing),
    /// It failed, with this message.
    Failed(String),
}

/// All results of a run.
#[derive(Clone, Debug, Default)]
pub struct Results {
    /// The cases, in row order.
    pub cases: Vec<Case>,
    /// Outcome per (case id, peer key).
    pub outcomes: BTreeMap<(String, String), Outcome>,
    /// Peers that did not run at all, and why.
    pub skipped: Vec<(String, String)>,
    /// The median of each round's timed steps, per (case id, peer key).
    pub round_medians: BTreeMap<(String, String), Vec<f64>>,
}

/// The median of `values` (the mean of the middle two for an even count); `None` if empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

impl Results {
    /// Records an outcome. A case that ran before (an earlier round) keeps its timed steps and
    /// gains the new ones; a failure in any round is what is reported.
    pub fn insert(&mut self, case: &str, peer: &str, outcome: Outcome) {
        use std::collections::btree_map::Entry;
        let key = (case.to_string(), peer.to_string());
        if let Outcome::Timed(t) = &outcome
            && let Some(m) = median(&t.times)
        {
            self.round_medians.entry(key.clone()).or_default().push(m);
        }
        match self.outcomes.entry(key) {
            Entry::Vacant(slot) => {
                slot.insert(outcome);
            }
            Entry::Occupied(mut slot) => match (slot.get_mut(), outcome) {
                (Outcome::Timed(earlier), Outcome::Timed(later)) => {
                    earlier.times.extend(later.times);
                    earlier.value = later.value;
                }
                (Outcome::Failed(_), _) => {}
                (earlier, failed) => *earlier = failed,
            },
        }
    }

    /// Records that `peer` did not run, and why (once, however many rounds found it so).
    pub fn skip(&mut self, peer: &str, why: String) {
        if !self.skipped.iter().any(|(p, w)| p == peer && *w == why) {
            self.skipped.push((peer.to_string(), why));
        }
    }

    /// The reported figure (in the case's unit) of `case` on `peer`, if it ran: the median of
    /// its timed steps, or over several rounds the median of the rounds' medians. (Pooling the
    /// rounds' steps instead let one slow round decide: when a host slows down for minutes,
    /// the steps fall into groups, and the median of the pool lands on whichever group holds
    /// the middle step.)
    pub fn figure(&self, case: &Case, peer: &str) -> Option<f64> {
        let key = (case.id.clone(), peer.to_string());
        match self.outcomes.get(&key)? {
            // One round: the median of its steps.
            Outcome::Timed(_) => median(self.round_medians.get(&key)?).map(|s| case.figure(s)),
            Outcome::Failed(_) => None,
        }
    }

    /// `figure(peer) / figure(reference)` for `case`, when both ran.
    pub fn ratio(&self, case: &Case, peer: &str, reference: &str) -> Option<f64> {
        Some(self.figure(case, peer)? / self.figure(case, reference)?)
    }

    /// The peers with at least one outcome, in column order.
    pub fn peers(&self) -> Vec<&'static str> {
        PEERS
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| self.outcomes.keys().any(|(_, p)| p == k))
            .collect()
    }

    /// The Markdown table: one row per case, a column per peer that ran, then burn-mlx's time
    /// over native MLX's, eager and compiled, and (when it ran) burn-mlx compiled's over native
    /// MLX compiled. Failures are marked and listed below it.
    pub fn table(&self) -> String {
        let peers = self.peers();
        let mut ratios = vec![("burn-mlx", BASELINE), ("burn-mlx", "mlx-compiled")];
        if peers.contains(&"burn-mlx-compiled") {
            ratios.push(("burn-mlx-compiled", "mlx-compiled"));
        }
        let mut header = vec!["case".to_string(), "unit".to_string()];
        header.extend(peers.iter().map(|p| title(p).to_string()));
        header.extend(
            ratios
                .iter()
                .map(|(p, r)| format!("{} / {}", title(p), title(r))),
        );
        let mut rows = vec![header];
        let mut failures = Vec::new();
        for case in &self.cases {
            let mut row = vec![case.label(), case.unit().to_string()];
            for peer in &peers {
                let key = (case.id.clone(), peer.to_string());
                row.push(match self.outcomes.get(&key) {
                    Some(Outcome::Timed(_)) => self.figure(case, peer).map_or("—".into(), number),
                    Some(Outcome::Failed(e)) => {
                        failures.push(format!("{} on {}: {e}", case.id, title(peer)));
                        "failed".into()
                    }
                    None => "—".into(),
                });
            }
            for (peer, reference) in &ratios {
                row.push(
                    self.ratio(case, peer, reference)
                        .map_or("—".into(), |r| format!("{r:.2}×")),
                );
            }
            rows.push(row);
        }
        let mut out = markdown(&rows);
        for failure in failures {
            out.push_str(&format!("\n- failed: {}", first_line(&failure)));
        }
        for (peer, why) in &self.skipped {
            out.push_str(&format!("\n- {} skipped: {why}", title(peer)));
        }
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }
}

/// Three significant digits (at least one decimal below 100): 1234, 123, 12.3, 1.23, 0.123.
pub fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Rows of cells as a Markdown table with aligned columns; the first row is the header, the
/// first two columns are left-aligned, the others right-aligned.
fn markdown(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .max(3)
    };
    let widths: Vec<usize> = (0..columns).map(width).collect();
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let pad = |c: usize, s: &str| {
        let fill = " ".repeat(widths[c] - s.chars().count());
        if c < 2 {
            format!("{s}{fill}")
        } else {
            format!("{fill}{s}")
        }
    };
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&line(
            (0..columns)
                .map(|c| pad(c, row.get(c).map_or("", String::as_str)))
                .collect(),
        ));
        if i == 0 {
            out.push_str(&line(
                (0..columns)
                    .map(|c| {
                        let dashes = "-".repeat(widths[c] - 1);
                        if c < 2 {
                            format!("{dashes}-")
                        } else {
                            format!("{dashes}:")
                        }
                    })
                    .collect(),
            ));
        }
    }
    out
}

/// The raw numbers of a run, for `--json`.
#[derive(Serialize)]
pub struct Dump<'a> {
    /// Where it ran.
    pub machine: &'a crate::machine::Machine,
    /// `cpu` or `gpu`.
    pub device: &'a str,
    /// Warm-up steps per case and peer.
    pub warmup: usize,
    /// Timed steps per case and peer in each round.
    pub steps: usize,
    /// Rounds: each ran every peer once, in turn; `times_s` holds every round's steps in round
    /// order, `median` is the median of the rounds' medians.
    pub rounds: usize,
    /// The cases with their shapes.
    pub cases: &'a [Case],
    /// One entry per case and peer.
    pub results: Vec<DumpEntry>,
    /// Peers that did not run, and why.
    pub skipped: &'a [(String, String)],
}

/// One case on one peer, for `--json`.
#[derive(Serialize)]
pub struct DumpEntry {
    /// Case id.
    pub case: String,
    /// Peer key.
    pub peer: String,
    /// `ms` or `µs/op`.
    pub unit: &'static str,
    /// The reported figure (see [`Results::figure`]), in `unit`.
    pub median: Option<f64>,
    /// Seconds of every timed step.
    pub times_s: Vec<f64>,
    /// The value read on the last step.
    pub value: Option<f64>,
    /// Why it failed.
    pub error: Option<String>,
}

impl Results {
    /// Every outcome as a [`DumpEntry`], in row and column order.
    pub fn entries(&self) -> Vec<DumpEntry> {
        let mut entries = Vec::new();
        for case in &self.cases {
            for peer in self.peers() {
                let Some(outcome) = self.outcomes.get(&(case.id.clone(), peer.to_string())) else {
                    continue;
                };
                let (times_s, value, error) = match outcome {
                    Outcome::Timed(t) => (t.times.clone(), Some(t.value), None),
                    Outcome::Failed(e) => (Vec::new(), None, Some(e.clone())),
                };
                entries.push(DumpEntry {
                    case: case.id.clone(),
                    peer: peer.to_string(),
                    unit: case.unit(),
                    median: self.figure(case, peer),
                    times_s,
                    value: value.filter(|v| v.is_finite()),
                    error,
                });
            }
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::{Target, cases};

    fn timed(ms: &[f64]) -> Outcome {
        Outcome::Timed(Timing {
            times: ms.iter().map(|m| m / 1e3).collect(),
            value: 1.0,
        })
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn numbers_keep_three_significant_digits() {
        assert_eq!(number(1234.4), "1234");
        assert_eq!(number(123.44), "123.4");
        assert_eq!(number(12.344), "12.34");
        assert_eq!(number(1.2344), "1.234");
        assert_eq!(number(0.12344), "0.1234");
    }

    #[test]
    fn rounds_report_their_middle_round_and_a_failure_sticks() {
        let mut results = Results::default();
        results.insert("mlp", "burn-mlx", timed(&[30.0, 31.0]));
        results.insert("mlp", "burn-mlx", timed(&[10.0, 11.0, 12.0]));
        let Some(Outcome::Timed(t)) = results.outcomes.get(&("mlp".into(), "burn-mlx".into()))
        else {
            panic!("mlp on burn-mlx: not timed");
        };
        assert_eq!(t.times.len(), 5);
        results.insert("mlp", "burn-mlx", timed(&[20.0, 21.0, 22.0]));
        // Rounds of 30.5, 11 and 21 ms: the middle round is reported, not the pool's 20.5.
        let mlp = &cases(Target::Cpu)[0];
        assert_eq!(mlp.id, "mlp");
        let figure = results.figure(mlp, "burn-mlx").expect("timed");
        assert!((figure - 21.0).abs() < 1e-9, "{figure}");

        results.insert("mlp", "burn-mlx", Outcome::Failed("boom".into()));
        results.insert("mlp", "burn-mlx", timed(&[10.0]));
        let outcome = &results.outcomes[&("mlp".into(), "burn-mlx".into())];
        assert_eq!(*outcome, Outcome::Failed("boom".into()));

        results.skip("torch", "not installed".into());
        results.skip("torch", "not installed".into());
        assert_eq!(results.skipped.len(), 1);
    }

    #[test]
    fn table_has_a_column_per_peer_and_the_two_ratios() {
        let all = cases(Target::Cpu);
        let mut results = Results {
            cases: vec![all[0].clone(), all[3].clone()],
            ..Results::default()
        };
        // MLP: burn-mlx 30 ms, MLX eager 20 ms, compiled 10 ms.
        results.insert("mlp", "burn-mlx", timed(&[31.0, 30.0, 29.0]));
        results.insert("mlp", "mlx-eager", timed(&[20.0, 20.0]));
        results.insert("mlp", "mlx-compiled", timed(&[10.0]));
        // Chain of 200 ops: 2 ms per step is 10 µs per op.
        results.insert("chain", "burn-mlx", timed(&[2.0]));
        results.insert(
            "chain",
            "mlx-compiled",
            Outcome::Failed("boom\nmore".into()),
        );
        results
            .skipped
            .push(("torch".into(), "not installed".into()));

        assert_eq!(results.peers(), ["burn-mlx", "mlx-eager", "mlx-compiled"]);
        assert_eq!(results.ratio(&all[0], "burn-mlx", BASELINE), Some(1.5));
        let table = results.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| case                            | unit  | burn-mlx | MLX eager | MLX compiled \
             | burn-mlx / MLX eager | burn-mlx / MLX compiled |"
        );
        assert!(lines[1].starts_with("| ------------------------------- | ----- | -------: |"));
        assert_eq!(
            lines[2],
            "| MLP 784-1024-1024-10, batch 256 | ms    |    30.00 |     20.00 |        10.00 \
             |                1.50× |                   3.00× |"
        );
        assert_eq!(
            lines[3],
            "| 200 chained x+1, 1000 floats    | µs/op |    10.00 |         — |       failed \
             |                    — |                       — |"
        );

        assert_eq!(lines[4], "");
        assert_eq!(lines[5], "- failed: chain on MLX compiled: boom");
        assert_eq!(lines[6], "- PyTorch skipped: not installed");

        let entries = results.entries();
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[0].median, Some(30.0));
        assert_eq!(entries[4].error.as_deref(), Some("boom\nmore"));

        // With compiled burn-mlx, a third ratio.
        results.insert("mlp", "burn-mlx-compiled", timed(&[12.0]));
        let table = results.table();
        let lines: Vec<&str> = table.lines().collect();
        assert!(
            lines[0].ends_with("| burn-mlx compiled / MLX compiled |"),
            "{}",
            lines[0]
        );
        assert!(
            lines[2].ends_with("|                            1.20× |"),
            "{}",
            lines[2]
        );
    }
}
