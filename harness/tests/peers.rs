//! The peer crates (built with `--features peers`) against `tape`: every workload at its
//! verify sizes, every compiled-in peer, through the `verify` library (value against the
//! primal, Jacobian against `tape` and against finite differences where they are reliable).
//!
//! dualbench's own tests of the shared partials rules leave the peers out where a crate's rule
//! differs (`docs/peers.md`); this is where the peers are held to the same gradients.
#![cfg(feature = "any-peer")]

use dualbench::verify::{Plan, Request};
use strategies::StrategyKind;

#[test]
fn every_compiled_in_peer_agrees_with_tape_on_every_workload() {
    let peers: Vec<StrategyKind> = StrategyKind::ALL
        .iter()
        .copied()
        .filter(|k| k.is_peer())
        .collect();
    assert!(!peers.is_empty(), "a peer feature is on");
    let mut strategies = vec!["tape".to_string()];
    strategies.extend(peers.iter().map(|p| p.name().to_string()));
    let plan = Plan::new(&Request {
        strategies,
        ..Request::default()
    })
    .expect("every workload and strategy is valid");
    let report = plan.run(|_| {});
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{} {:?}: {:?}", c.workload, c.size, c.findings))
        .collect();
    assert!(
        failed.is_empty(),
        "cases that failed:\n{}",
        failed.join("\n")
    );
    for case in &report.cases {
        for peer in &peers {
            let result = case
                .strategies
                .iter()
                .find(|r| r.strategy == peer.name())
                .expect("every selected strategy reports");
            assert_ne!(
                result.status,
                dualbench::verify::report::Status::Failed,
                "{} at {} {:?}",
                peer.name(),
                case.workload,
                case.size
            );
        }
    }
}
