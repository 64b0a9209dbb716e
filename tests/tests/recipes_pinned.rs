//! Every shipped recipe pinned in one snapshot: each numeric and behavioural field (model, data,
//! optimizer, schedule, epochs, batch size, seeds, the LSTM trials' task, net and stopping rule,
//! the PTB models), one line per field, so that a changed learning rate, schedule, batch size or
//! augmentation is a one-line diff to review rather than a silent change to what a claim rests on.
//! Prose (`description`, `sources`, the trials' `table` reference) is left out. Also: every claim
//! names a shipped recipe, and every recipe file under `papers/*/experiments/` is compiled in.

use std::collections::BTreeMap;

use repro_common::paper::ImagePaper;
use repro_tests::repo_root;
use serde_yaml_ng::Value;

/// The image papers, as the harness lists them.
fn image_papers() -> Vec<&'static dyn ImagePaper> {
    vec![&repro_lenet::LenetPaper, &repro_resnet::ResnetPaper, &repro_alexnet::AlexnetPaper, &repro_vgg::VggPaper, &repro_googlenet::GooglenetPaper]
}

/// Fields that explain a recipe but do not change what it computes.
const PROSE: &[&str] = &["description", "sources", "table"];

/// `(paper, recipe name) -> recipe as a YAML tree`, for every shipped recipe of every paper.
fn shipped_recipes() -> BTreeMap<(String, String), Value> {
    let mut recipes = BTreeMap::new();
    let mut add = |paper: &str, name: &str, tree: Value| {
        let previous = recipes.insert((paper.to_owned(), name.to_owned()), tree);
        assert!(previous.is_none(), "two recipes of {paper} are named {name}");
    };
    for paper in image_papers() {
        for recipe in paper.experiments() {
            add(paper.id(), &recipe.name, serde_yaml_ng::to_value(&recipe).unwrap());
        }
    }
    for recipe in repro_lstm::trial_experiments() {
        add(repro_lstm::ID, &recipe.name, serde_yaml_ng::to_value(&recipe).unwrap());
    }
    for recipe in repro_lstm::ptb::experiments() {
        add(repro_lstm::ID, &recipe.name, serde_yaml_ng::to_value(&recipe).unwrap());
    }
    recipes
}

/// A value on one line: scalars as YAML writes them, sequences and mappings in flow style.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            // An f32 field widened to f64 (0.10000000149011612) reads as the f32 it is (0.1).
            Some(x) if n.is_f64() && (x as f32) as f64 == x && format!("{}", x as f32).parse::<f64>() != Ok(x) => format!("{}", x as f32),
            _ => n.to_string(),
        },
        Value::String(s) if s.is_empty() => "''".into(),
        Value::String(s) => s.clone(),
        Value::Sequence(items) => format!("[{}]", items.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Mapping(map) => format!("{{{}}}", map.iter().map(|(k, v)| format!("{}: {}", inline(k), inline(v))).collect::<Vec<_>>().join(", ")),
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, inline(&tagged.value)),
    }
}

/// One `prefix dotted.key: value` line per leaf; sections are walked, so each line names its field.
fn flatten(prefix: &str, path: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Mapping(map) if !map.is_empty() => {
            for (key, child) in map {
                let key = inline(key);
                if path.is_empty() && (PROSE.contains(&key.as_str()) || key == "name" || key == "paper") {
                    continue; // prose, or already in the prefix
                }
                flatten(prefix, &if path.is_empty() { key } else { format!("{path}.{key}") }, child, out);
            }
        }
        _ => out.push(format!("{prefix} {path}: {}", inline(value))),
    }
}

#[test]
fn every_shipped_recipe_is_pinned() {
    let mut pinned = String::new();
    for ((paper, name), tree) in &shipped_recipes() {
        let mut lines = Vec::new();
        flatten(&format!("{paper}/{name}"), "", tree, &mut lines);
        pinned.push_str(&lines.join("\n"));
        pinned.push_str("\n\n");
    }
    insta::assert_snapshot!("recipes", pinned);
}

#[test]
fn every_claim_names_a_shipped_recipe() {
    let recipes = shipped_recipes();
    let mut claims: Vec<(&str, repro_common::claims::Claim)> = image_papers().iter().flat_map(|p| p.claims().into_iter().map(move |c| (p.id(), c))).collect();
    claims.extend(repro_lstm::claims().into_iter().map(|c| (repro_lstm::ID, c)));
    let missing: Vec<String> =
        claims.iter().filter(|(paper, c)| !recipes.contains_key(&(paper.to_string(), c.experiment.clone()))).map(|(paper, c)| format!("{paper}: claim `{}` names `{}`", c.id, c.experiment)).collect();
    assert!(missing.is_empty(), "claims whose experiment is not a shipped recipe:\n{}", missing.join("\n"));
}

/// A recipe file left out of its crate's list would be neither pinned nor runnable by name.
#[test]
fn every_recipe_file_is_shipped() {
    let recipes = shipped_recipes();
    let mut missing = Vec::new();
    for paper_dir in std::fs::read_dir(repo_root().join("papers")).unwrap().map(|e| e.unwrap().path()) {
        let Ok(files) = std::fs::read_dir(paper_dir.join("experiments")) else { continue };
        for file in files.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")) {
            let tree: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let field = |key: &str| tree.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
            if !recipes.contains_key(&(field("paper"), field("name"))) {
                missing.push(file.strip_prefix(repo_root()).unwrap().display().to_string());
            }
        }
    }
    assert!(missing.is_empty(), "recipe files not in their crate's list of shipped recipes: {}", missing.join(", "));
}

/// An evaluation-only recipe (`epochs: 0`) answers its claims only with weights of a known
/// pedigree: each such claim names the training recipe (shipped, training the same model) or
/// the published file's SHA-256; a claim on a trained recipe names none.
#[test]
fn every_evaluation_claim_names_the_weights_it_accepts() {
    let mut problems = Vec::new();
    for paper in image_papers() {
        let recipes = paper.experiments();
        for claim in paper.claims() {
            let Some(recipe) = recipes.iter().find(|r| r.name == claim.experiment) else { continue };
            match (&claim.weights, recipe.epochs) {
                (None, 0) => problems.push(format!("{}: `{}` evaluates weights but names no pedigree", paper.id(), claim.id)),
                (Some(_), e) if e > 0 => problems.push(format!("{}: `{}` is answered by training, yet names weights", paper.id(), claim.id)),
                (Some(p), _) => {
                    if let Some(trainer) = &p.trained_by {
                        match recipes.iter().find(|r| &r.name == trainer) {
                            Some(t) if t.epochs > 0 && t.model == recipe.model => {}
                            Some(t) => problems.push(format!("{}: `{}` takes weights of `{trainer}`, which trains `{}` for {} epochs", paper.id(), claim.id, t.model, t.epochs)),
                            None => problems.push(format!("{}: `{}` takes weights of `{trainer}`, no shipped recipe", paper.id(), claim.id)),
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
