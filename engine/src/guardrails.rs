//! Guardrail policies: the platform's rules, checked on the final object set of every
//! application (the last stage of [`crate::pipeline::render_app`]).
//!
//! The platform lists them in its configuration ([`crate::platform::PolicyUse`]); the
//! application cannot switch them off. Each is a definition of kind `policy`, called once
//! with every object the application renders, named by identity (`Deployment/prod/api`).
//! It returns violations and mutations. Policies run in the configured order, each seeing
//! the mutations of the ones before. A denial does not stop the others: the render fails
//! at the end, listing every denial of every policy.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::app::Application;
use crate::definitions::Registry;
pub use crate::error::Violation;
use crate::error::{Error, Result, Site};
use crate::manifest::{self, Object};
use crate::patch::trace::{Contributor, Stage};
use crate::patch::{self, Owners};
use crate::platform::Action;
use crate::render::{
    RenderOptions, Rendered, call_error, definition_id, location, patch_from_wit, wit_context,
};
use crate::sandbox::{Sandbox, wit};

/// Runs the policies of `options` over the objects of `rendered`, applying their
/// mutations in place and adding their warnings. Fails with [`Error::Denied`] listing every
/// denial.
pub fn enforce(
    sandbox: &Sandbox,
    registry: &Registry,
    app: &Application,
    namespace: &str,
    options: &RenderOptions,
    rendered: &mut Rendered,
) -> Result<()> {
    let policies = &options.policies;
    let Rendered { objects, warnings } = rendered;
    let first_policy_warning = warnings.len();
    if policies.is_empty() {
        return Ok(());
    }
    for policy in policies {
        policy.check_kind(registry)?;
    }
    let names: BTreeSet<&str> = policies.iter().map(|p| p.type_name.as_str()).collect();
    let modules = registry.load(sandbox, &names)?;
    let context = wit_context(app, namespace, None, options);
    let mut denials = Vec::new();
    for policy in policies {
        let module = modules
            .get(&policy.type_name)
            .expect("every policy was loaded above");
        let ids = identities(objects);
        let request = wit::RenderRequest {
            parameters: Value::Object(policy.properties.clone()).to_string(),
            context: context.clone(),
            workload: None,
            outputs: objects
                .iter()
                .zip(&ids)
                .map(|(o, id)| wit::NamedObject {
                    name: id.clone(),
                    object: o.value.to_string(),
                })
                .collect(),
        };
        let site = &policy.site;
        let response = sandbox
            .render(module, &request)
            .map_err(|e| call_error(e, site, &module.name))?
            .map_err(|diagnostics| parameter_errors(site, &module.name, diagnostics))?;
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let bad = |message: String| Error::BadOutput {
            site: Box::new(site.clone()),
            module: module.name.clone(),
            message,
        };
        for d in &response.diagnostics {
            let object = d.object.as_deref().unwrap_or_default();
            let Some(&i) = index.get(object) else {
                return Err(bad(format!(
                    "a violation names no rendered object (\"{object}\")"
                )));
            };
            let violation = Violation {
                policy: policy.type_name.clone(),
                object: object.to_string(),
                component: objects[i].component.clone(),
                location: component_location(app, &objects[i].component),
                field: d.field.clone(),
                message: d.message.clone(),
            };
            match (d.severity, policy.action) {
                (wit::Severity::Error, Action::Deny) => denials.push(violation),
                _ => warnings.push(format!(
                    "{}: warning: {}",
                    violation.location,
                    violation.describe()
                )),
            }
        }
        for mutation in &response.patch_outputs {
            let Some(&i) = index.get(mutation.name.as_str()) else {
                return Err(bad(format!(
                    "a mutation names no rendered object (\"{}\")",
                    mutation.name
                )));
            };
            let patch = patch_from_wit(&mutation.patch)
                .map_err(|e| bad(format!("the mutation of {} is not JSON: {e}", ids[i])))?;
            let owner = format!("policy \"{}\"", policy.type_name);
            let mut value = objects[i].value.clone();
            patch::apply(
                &mut value,
                &patch,
                &owner,
                &mut Owners::new("the application"),
            )
            .map_err(|e| bad(format!("its mutation of {} failed: {e}", ids[i])))?;
            manifest::check_object(&value).map_err(|m| {
                bad(format!(
                    "its mutation of {} leaves an object that {m}",
                    ids[i]
                ))
            })?;
            if identity(&value) != identity(&objects[i].value) {
                return Err(bad(format!(
                    "its mutation of {} changes the object's kind, name or namespace",
                    ids[i]
                )));
            }
            // Argo CD would apply a list's items one by one, unseen by the policies that
            // ran before this one (lists are flattened before any policy runs).
            if manifest::is_list(&value) {
                return Err(bad(format!(
                    "its mutation of {} makes it a list (an `items` array), which Argo CD \
                     would apply item by item, unchecked",
                    ids[i]
                )));
            }
            let object = &mut objects[i];
            if let Some(trace) = &mut object.trace {
                let by = Arc::new(Contributor {
                    stage: Stage::Policy,
                    definition: Some(definition_id(module)),
                    source: location(site),
                });
                trace.record(&object.value, &value, &by);
            }
            object.value = value;
        }
    }
    if denials.is_empty() {
        Ok(())
    } else {
        Err(Error::Denied {
            violations: denials,
            warnings: warnings[first_policy_warning..].to_vec(),
        })
    }
}

/// `file:line:column` of the component named `name`.
fn component_location(app: &Application, name: &str) -> String {
    let site = match app.components.iter().find(|c| c.name == name) {
        Some(component) => app.source.site_of(&component.path, component.position),
        None => app.source.site(&[]),
    };
    match site.position {
        Some((line, column)) => format!("{}:{line}:{column}", app.source.file),
        None => app.source.file.clone(),
    }
}

fn parameter_errors(site: &Site, module: &str, diagnostics: Vec<wit::Diagnostic>) -> Error {
    let mut errors: Vec<Error> = diagnostics
        .into_iter()
        .map(|d| Error::Parameter {
            site: Box::new(Site {
                field: d.field.map(|f| format!("properties.{f}")),
                ..site.clone()
            }),
            message: format!("policy \"{module}\": {}", d.message),
        })
        .collect();
    match errors.len() {
        0 => Error::Parameter {
            site: Box::new(site.clone()),
            message: format!("policy \"{module}\" failed without a message"),
        },
        1 => errors.remove(0),
        _ => Error::Many(errors),
    }
}

/// `<kind>/<namespace>/<name>`, or `<kind>/<name>` for cluster-scoped objects.
fn identity(value: &Value) -> String {
    let kind = value["kind"].as_str().unwrap_or_default();
    let name = value["metadata"]["name"].as_str().unwrap_or_default();
    match value["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind}/{ns}/{name}"),
        None => format!("{kind}/{name}"),
    }
}

/// The identity of each object; a repeated identity gets `#2`, `#3`... so that every
/// object can be named.
fn identities(objects: &[Object]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    objects
        .iter()
        .map(|o| {
            let id = identity(&o.value);
            let n = seen.entry(id.clone()).or_insert(0);
            *n += 1;
            if *n == 1 { id } else { format!("{id}#{n}") }
        })
        .collect()
}
