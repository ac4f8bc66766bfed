//! The plain-text table of `--format table`.

use records::{Distribution, Record};

fn fmt(x: Option<f64>) -> String {
    match x {
        None => "-".into(),
        Some(v) if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e6) => format!("{v:.4e}"),
        Some(v) if v.fract() == 0.0 => format!("{v}"),
        Some(v) => format!("{v:.6}"),
    }
}

pub fn table(rows: &[Record]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{:<23} {:<14} {:<13} {:>14} {:>14} {:>6}\n",
        "claim", "problem", "optimizer", "predicted", "observed", "holds"
    ));
    for r in rows {
        if let Record::Check(c) = r {
            s.push_str(&format!(
                "{:<23} {:<14} {:<13} {:>14} {:>14} {:>6}\n",
                c.claim,
                c.problem.as_deref().unwrap_or("-"),
                c.optimizer.as_deref().unwrap_or("-"),
                fmt(c.predicted),
                fmt(c.observed),
                match c.holds {
                    Some(true) => "yes",
                    Some(false) => "NO",
                    None => "n/a",
                }
            ));
        }
    }
    let dists: Vec<&Distribution> =
        rows.iter().filter_map(|r| if let Record::Distribution(d) = r { Some(d) } else { None }).collect();
    if !dists.is_empty() {
        s.push_str(&format!(
            "\n{:<16} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}\n",
            "distribution", "trials", "mean", "q05", "q25", "median", "q75", "q95", "paper"
        ));
        for d in dists {
            s.push_str(&format!(
                "{:<16} {:>7} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>8}\n",
                d.name,
                d.trials,
                d.mean,
                d.q05,
                d.q25,
                d.median,
                d.q75,
                d.q95,
                d.paper.map_or("-".into(), |p| p.to_string())
            ));
        }
    }
    s
}
