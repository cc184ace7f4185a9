//! The registry and the specifications: names, sizes, layouts, deterministic inputs, affordable
//! verify sizes, and the errors `instantiate` reports.

use std::collections::BTreeSet;

use workloads::{
    all, find, format_param, format_params, instantiate, non_default_params, parse_params, Family,
    ParamTexts, Params, Workload, WorkloadError,
};

/// The workload names of `docs/workloads.md`, in the registry's order.
const DOCUMENTED: &[&str] = &[
    "fmult",
    "fdotprod",
    "fsummatvec",
    "frotvecquat",
    "fneural",
    "mlp",
    "square-chain",
    "fib-chain",
    "fanout",
    "deep-chain",
    "random-dag",
    "horner",
    "tree-reduce",
    "newton",
    "lse",
    "sin-product-sum",
    "llsq",
    "det",
    "ode",
    "gmm",
    "kmeans",
    "advection",
    "fparticles",
    "par-tree",
    "random-fork-join",
];

/// The sizes the tests instantiate each workload at: its verify sizes and its default, or
/// `None` for a fixed-size workload.
fn test_sizes(w: &dyn Workload) -> Vec<Option<usize>> {
    match w.size() {
        None => vec![None],
        Some(spec) => spec
            .verify
            .iter()
            .chain([&spec.default])
            .map(|&s| Some(s))
            .collect(),
    }
}

#[test]
fn names_are_unique_and_are_those_of_workloads_md() {
    let names: Vec<&str> = all().iter().map(|w| w.name()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(unique.len(), names.len(), "duplicate names in {names:?}");
    assert_eq!(names, DOCUMENTED);
    for name in names {
        assert_eq!(find(name).expect("registered").name(), name);
    }
}

#[test]
fn families_follow_workloads_md() {
    let family = |name| find(name).expect("registered").family();
    assert_eq!(family("fdotprod"), Family::Paper);
    assert_eq!(family("square-chain"), Family::Sharing);
    assert_eq!(family("random-dag"), Family::Sharing);
    assert_eq!(family("horner"), Family::HigherOrder);
    assert_eq!(family("det"), Family::Classic);
    assert_eq!(family("gmm"), Family::Classic);
    assert_eq!(family("fparticles"), Family::Parallel);
}

#[test]
fn size_specs_are_consistent_and_sweeps_span_a_decade() {
    for w in all() {
        assert!(!w.description().is_empty(), "{}", w.name());
        let Some(spec) = w.size() else { continue };
        let name = w.name();
        assert!(
            spec.min <= spec.default && spec.default <= spec.max,
            "{name}"
        );
        for &s in spec.verify.iter().chain(spec.sweep) {
            assert!(
                spec.min <= s && s <= spec.max,
                "{name}: size {s} out of range"
            );
        }
        assert!(!spec.verify.is_empty() && !spec.sweep.is_empty(), "{name}");
        assert!(
            spec.sweep.windows(2).all(|p| p[0] < p[1]),
            "{name}: sweep unsorted"
        );
        let (first, last) = (spec.sweep[0], spec.sweep[spec.sweep.len() - 1]);
        // det's size l is bounded by 11, but its cost l! spans four decades over the sweep.
        if name != "det" {
            assert!(
                last >= 10 * first,
                "{name}: sweep {first}..{last} spans less than a decade"
            );
        }
    }
}

#[test]
fn every_workload_instantiates_with_a_layout_matching_its_input() {
    for w in all() {
        for size in test_sizes(*w) {
            let instance = instantiate(*w, size, &Params::new()).expect("valid size");
            let name = w.name();
            assert_eq!(instance.size, size, "{name}");
            let total: usize = instance.layout.iter().map(|b| b.len).sum();
            assert_eq!(
                total,
                instance.input.len(),
                "{name} {size:?}: layout length"
            );
            assert_eq!(instance.program.input_len(), instance.input.len(), "{name}");
            let blocks: BTreeSet<&str> = instance.layout.iter().map(|b| b.name).collect();
            assert_eq!(
                blocks.len(),
                instance.layout.len(),
                "{name}: duplicate block"
            );
            for spec in w.params() {
                assert_eq!(
                    instance.params.get(spec.name),
                    Some(&spec.default),
                    "{name}"
                );
            }
            let out = instance.program.primal(&instance.input);
            assert_eq!(out.len(), instance.program.output_len(), "{name}");
            assert!(
                out.iter().all(|v| v.is_finite()),
                "{name} {size:?}: {out:?}"
            );
        }
    }
}

#[test]
fn inputs_and_values_are_deterministic() {
    for w in all() {
        for size in test_sizes(*w) {
            let a = instantiate(*w, size, &Params::new()).expect("valid size");
            let b = instantiate(*w, size, &Params::new()).expect("valid size");
            let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.input), bits(&b.input), "{} {size:?}", w.name());
            let (va, vb) = (a.program.primal(&a.input), b.program.primal(&b.input));
            assert_eq!(bits(&va), bits(&vb), "{} {size:?}", w.name());
        }
    }
}

#[test]
fn seeded_inputs_are_pinned_to_the_chacha8_stream() {
    // ChaCha8's stream is fixed across platforms, so these bits are constants of the project:
    // a change here changes every published input.
    let lse = instantiate(find("lse").expect("registered"), Some(3), &Params::new()).unwrap();
    let bits: Vec<u64> = lse.input.iter().map(|v| v.to_bits()).collect();
    assert_eq!(
        bits,
        [
            4605707955249335576,
            13817451254546845312,
            4605350111013302608
        ]
    );
    let longer = instantiate(find("lse").expect("registered"), Some(5), &Params::new()).unwrap();
    assert_eq!(
        lse.input[..],
        longer.input[..3],
        "a longer input extends a shorter one"
    );
}

/// Workloads whose default data make the naive strategy unaffordable even at their smallest
/// size, with the parameters at which it is affordable at their verify sizes. `gmm`'s default
/// data are GradBench's (N = 1000 points in D = 10 dimensions): about 1.2e8 naive work at
/// K = 1, so `verify`'s work cap skips naive there (and `tests/closed_forms.rs` checks naive
/// on small data).
const NAIVE_NEEDS_SMALLER_DATA: &[(&str, &[(&str, f64)])] = &[("gmm", &[("d", 2.0), ("n", 10.0)])];

#[test]
fn verify_sizes_are_affordable_for_the_naive_strategy() {
    // The naive strategy adds a dense length-n cotangent per backpropagator call.
    for w in all() {
        let sizes = match w.size() {
            None => vec![None],
            Some(spec) => spec.verify.iter().map(|&s| Some(s)).collect(),
        };
        let params: Params = NAIVE_NEEDS_SMALLER_DATA
            .iter()
            .filter(|(name, _)| *name == w.name())
            .flat_map(|(_, params)| params.iter())
            .map(|&(key, value)| (key.to_string(), value))
            .collect();
        for size in sizes {
            let instance = instantiate(*w, size, &params).expect("valid size");
            let cost = instance.program.op_count(&instance.input);
            let work = cost.naive_calls * instance.input.len() as f64;
            assert!(work <= 2e7, "{} {size:?}: naive work {work:e}", w.name());
        }
    }
}

#[test]
fn sharing_sweeps_reach_sizes_where_naive_takes_seconds() {
    for w in all().iter().filter(|w| w.family() == Family::Sharing) {
        if w.name() == "deep-chain" {
            continue;
        }
        let spec = w.size().expect("sharing workloads have a size");
        let largest = *spec.sweep.last().expect("non-empty sweep");
        let instance = instantiate(*w, Some(largest), &Params::new()).expect("valid size");
        let calls = instance.program.op_count(&instance.input).naive_calls;
        assert!(calls >= 1e10, "{}: only {calls:e} naive calls", w.name());
    }
}

#[test]
fn a_fixed_size_workload_rejects_a_size() {
    let err = instantiate(find("fmult").unwrap(), Some(3), &Params::new()).unwrap_err();
    assert_eq!(
        err,
        WorkloadError::FixedSize {
            workload: "fmult",
            size: 3
        }
    );
}

#[test]
fn sizes_outside_the_range_are_rejected() {
    for (name, size) in [("square-chain", 1024), ("det", 12), ("llsq", 1), ("lse", 0)] {
        let err = instantiate(find(name).unwrap(), Some(size), &Params::new()).unwrap_err();
        assert!(
            matches!(err, WorkloadError::SizeOutOfRange { size: s, .. } if s == size),
            "{name}: {err}"
        );
    }
}

#[test]
fn unknown_and_invalid_parameters_are_rejected() {
    let params = |k: &str, v: f64| Params::from([(k.to_string(), v)]);
    let err = instantiate(find("ode").unwrap(), None, &params("step", 3.0)).unwrap_err();
    assert!(matches!(err, WorkloadError::UnknownParam { ref valid, .. } if valid == "steps"));
    let err = instantiate(find("ode").unwrap(), None, &params("steps", 2.5)).unwrap_err();
    assert!(matches!(err, WorkloadError::BadParam { name: "steps", .. }));
    let err = instantiate(find("ode").unwrap(), None, &params("steps", 0.0)).unwrap_err();
    assert!(matches!(err, WorkloadError::BadParam { name: "steps", .. }));
    let err = instantiate(find("lse").unwrap(), None, &params("x0", 1.0)).unwrap_err();
    assert!(matches!(err, WorkloadError::UnknownParam { ref valid, .. } if valid == "none"));
    let err = instantiate(find("square-chain").unwrap(), None, &params("x0", f64::NAN));
    assert!(matches!(
        err,
        Err(WorkloadError::BadParam { name: "x0", .. })
    ));
}

#[test]
fn a_huge_parameter_is_shown_as_written_not_in_three_hundred_digits() {
    let params = Params::from([("steps".to_string(), 1e300)]);
    let err = instantiate(find("ode").unwrap(), None, &params).unwrap_err();
    let message = err.to_string();
    assert!(message.ends_with("got 1e300"), "{message}");
    let params = Params::from([("steps".to_string(), 2.5)]);
    let err = instantiate(find("ode").unwrap(), None, &params).unwrap_err();
    assert!(err.to_string().ends_with("got 2.5"), "{err}");
}

#[test]
fn an_unknown_name_lists_the_valid_ones() {
    let Err(WorkloadError::Unknown { name, valid }) = find("lstm") else {
        panic!("lstm is not registered");
    };
    assert_eq!(name, "lstm");
    assert_eq!(valid, DOCUMENTED.join(", "));
}

#[test]
fn parameters_shape_the_instance() {
    let params = |pairs: &[(&str, f64)]| -> Params {
        pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
    };
    let kmeans = find("kmeans").unwrap();
    let instance = instantiate(kmeans, Some(10), &params(&[("k", 3.0), ("d", 5.0)])).unwrap();
    assert_eq!(instance.layout[0].name, "centroids");
    assert_eq!(instance.input.len(), 15);
    let dag = find("random-dag").unwrap();
    let instance = instantiate(dag, Some(10), &params(&[("inputs", 7.0)])).unwrap();
    assert_eq!(instance.input.len(), 7);
    let square = find("square-chain").unwrap();
    let instance = instantiate(square, Some(3), &params(&[("x0", -2.0)])).unwrap();
    assert_eq!(instance.input, vec![-2.0]);
    assert_eq!(instance.params["x0"], -2.0);
}

#[test]
fn choice_parameters_hold_the_index_of_a_choice_and_numeric_ones_no_choices() {
    for w in all() {
        for spec in w.params() {
            let name = format!("{} {}", w.name(), spec.name);
            if spec.is_choice() {
                assert!(spec.integer, "{name}");
                assert_eq!(spec.min, 0.0, "{name}");
                assert_eq!(spec.max, (spec.choices.len() - 1) as f64, "{name}");
                let unique: BTreeSet<&str> = spec.choices.iter().copied().collect();
                assert_eq!(unique.len(), spec.choices.len(), "{name}: a choice twice");
            }
            assert!(spec.accepts(spec.default), "{name}: its default");
            let text = spec.format_value(spec.default);
            assert_eq!(spec.parse_value(&text), Ok(spec.default), "{name}: {text}");
        }
    }
}

#[test]
fn a_choice_is_read_by_name_and_shown_by_name() {
    let fparticles = find("fparticles").unwrap();
    let texts = |pairs: &[(&str, &str)]| -> ParamTexts {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let given = parse_params(
        fparticles,
        &texts(&[("fork", "balanced"), ("particles", "16")]),
    );
    let given = given.unwrap();
    assert_eq!(
        given,
        Params::from([("fork".to_string(), 1.0), ("particles".to_string(), 16.0)])
    );
    let chain = parse_params(fparticles, &texts(&[("fork", " chain ")])).unwrap();
    assert_eq!(chain["fork"], 0.0);
    assert_eq!(
        format_params("fparticles", &given),
        ["fork=balanced", "particles=16"]
    );
    assert_eq!(format_param("fparticles", "fork", 0.0), "chain");
    assert_eq!(
        non_default_params("fparticles", &given),
        ["fork=balanced", "particles=16"]
    );
    let defaults = Params::from([("fork".to_string(), 0.0), ("particles".to_string(), 4.0)]);
    assert!(non_default_params("fparticles", &defaults).is_empty());
    // A value that names no choice, and a workload that is not registered, show the number.
    assert_eq!(format_param("fparticles", "fork", 7.0), "7");
    assert_eq!(format_param("no-such-workload", "fork", 1.0), "1");
    let instance = instantiate(fparticles, Some(3), &given).unwrap();
    assert_eq!(instance.params["fork"], 1.0);
    let default = instantiate(fparticles, Some(3), &Params::new()).unwrap();
    assert_eq!(default.params["fork"], 0.0);
}

#[test]
fn a_bad_choice_or_number_is_refused_naming_what_is_valid() {
    let fparticles = find("fparticles").unwrap();
    let text = |k: &str, v: &str| ParamTexts::from([(k.to_string(), v.to_string())]);
    for bad in ["tree", "1", "", "Chain"] {
        let err = parse_params(fparticles, &text("fork", bad)).unwrap_err();
        assert!(
            matches!(err, WorkloadError::InvalidParam { name: "fork", .. }),
            "{bad}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("fparticles")
                && message.contains(&format!("`{bad}`"))
                && message.contains("valid choices: chain, balanced"),
            "{message}"
        );
    }
    let err = parse_params(fparticles, &text("particles", "many")).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("`many` is not a number") && message.contains("an integer in 1..=64"),
        "{message}"
    );
    let err = parse_params(fparticles, &text("particles", "65")).unwrap_err();
    assert!(err.to_string().contains("got 65"), "{err}");
    let err = parse_params(fparticles, &text("forks", "chain")).unwrap_err();
    assert!(
        matches!(err, WorkloadError::UnknownParam { ref valid, .. } if valid == "particles, fork"),
        "{err:?}"
    );
    let index = Params::from([("fork".to_string(), 2.0)]);
    let err = instantiate(fparticles, Some(3), &index).unwrap_err();
    assert!(err.to_string().contains("one of chain, balanced"), "{err}");
}
