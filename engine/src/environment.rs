//! Environments: KubeVela's application-level `override` and `topology` policies, chosen by
//! a `deploy` workflow step, rewrite the application before it renders.
//!
//! KubeVela deploys one application to several places: each `deploy` step of
//! `spec.workflow.steps` names the policies (of `spec.policies`) that shape its deployment.
//! Kiln renders one of them, the *environment*, for one cluster (Argo CD's destination):
//!
//! - each `deploy` step (also inside a `step-group`'s `subSteps`) is an environment named
//!   after the step; its `properties.policies`, then its `properties.inlinePolicies`, apply
//!   in that order;
//! - without `deploy` steps, each `topology` policy is an environment named after the
//!   policy, with every `override` policy applied (KubeVela's default workflow); with
//!   `override` policies only, there is one unnamed environment applying them all; with
//!   neither, the application renders as written.
//!
//! An `override` policy (`components: [{name?, type?, properties?, traits?}]`, `selector?`)
//! patches every component its entries match: `name` (absent, empty or `*` match any; `*` is
//! a wildcard inside a name too) and `type` (absent matches any). `properties` merge into the
//! component's: maps merge key by key, a `null` removes the key, anything else replaces. Each
//! trait entry merges into the component's traits of its type the same way, is appended when
//! there is none, and with `disable: true` removes them. A `selector` then keeps the named
//! components only (an empty one keeps all).
//!
//! A `topology` policy's `namespace` becomes the application's namespace. Its `clusters`
//! (other than `local`) and cluster selectors mean nothing for a one-cluster render: they are
//! accepted and reported as warnings.
//!
//! Every override and topology policy of the file is checked, and every step's policy names
//! resolved, whichever environment is chosen: an error does not hide behind an environment
//! nobody rendered yet. Policies of other types are left to later stages.

use serde_json::{Map, Value};

use crate::app::yaml::Segment;
use crate::app::{Application, Component, Policy, Source, TraitUse, WorkflowStep, dotted, key};
use crate::error::{Error, Result, Site};

/// The policy type that patches components.
pub const OVERRIDE: &str = "override";
/// The policy type that says where components deploy.
pub const TOPOLOGY: &str = "topology";
/// The workflow step type that deploys, naming an environment.
pub const DEPLOY: &str = "deploy";
/// The cluster a one-cluster render stands for.
const LOCAL_CLUSTER: &str = "local";

/// One way to render the application: a name and the policies that apply.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The `deploy` step's name, or the `topology` policy's; `None` for the one environment
    /// of an application with `override` policies only.
    pub name: Option<String>,
    /// The `override` and `topology` policies, in the order they apply.
    pub policies: Vec<Policy>,
}

/// The application as one environment renders it.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The application rewritten: components overridden, the selectors applied, the namespace
    /// set when a topology gives one. Its `policies` and `workflow_steps` are kept as read.
    pub app: Application,
    /// The environment's name; `None` when the application has no named environment.
    pub name: Option<String>,
    /// What this render leaves out (other clusters) or could not match, each with its site.
    pub warnings: Vec<String>,
}

/// The application's environments, in file order (empty when it has none). Checks every
/// `override` and `topology` policy and every step's policy names.
pub fn environments(app: &Application) -> Result<Vec<Environment>> {
    let plan = Plan::new(app)?;
    Ok(plan
        .envs
        .iter()
        .map(|env| Environment {
            name: env.name.clone(),
            policies: env
                .rules
                .iter()
                .map(|&i| plan.rules[i].policy().clone())
                .collect(),
        })
        .collect())
}

/// The application as the environment `env` renders it. Without a name, the application's
/// only environment (or the application as written, when it has none); naming none when there
/// are several is an error, as is a name that is not one of them.
pub fn select_environment(app: Application, env: Option<&str>) -> Result<Selected> {
    let plan = Plan::new(&app)?;
    let names: Vec<&str> = plan.envs.iter().filter_map(|e| e.name.as_deref()).collect();
    let chosen = match env {
        Some(wanted) => match plan.envs.iter().find(|e| e.name.as_deref() == Some(wanted)) {
            Some(found) => Some(found),
            None => return Err(unknown_environment(&app, wanted, &names)),
        },
        None => match plan.envs.as_slice() {
            [] => None,
            [only] => Some(only),
            several => {
                return Err(Error::Invalid {
                    site: Box::new(file_site(&app.source)),
                    message: format!(
                        "application \"{}\" has {} environments ({}): choose one with --env or \
                         KILN_ENV",
                        app.name,
                        several.len(),
                        names.join(", ")
                    ),
                });
            }
        },
    };
    let mut warnings = Vec::new();
    for policy in &app.policies {
        if policy.type_name != OVERRIDE && policy.type_name != TOPOLOGY {
            warnings.push(warning(
                &app.source,
                &key(&policy.path, "type"),
                &format!(
                    "policy \"{}\" of type \"{}\" is not applied: Kiln applies the override \
                     and topology policies; the others act in the cluster, and guardrails are \
                     the platform's (KILN_PLATFORM)",
                    policy.name, policy.type_name
                ),
            ));
        }
    }
    let Some(env) = chosen else {
        // No environment: the application as written, not copied (it may be large).
        drop(plan);
        return Ok(Selected {
            app,
            name: None,
            warnings,
        });
    };
    // The rules read the application as written while the copy is rewritten.
    let mut selected = Selected {
        app: app.clone(),
        name: env.name.clone(),
        warnings,
    };
    let rules: Vec<&Rule> = env.rules.iter().map(|&i| &plan.rules[i]).collect();
    apply(&mut selected, &rules)?;
    Ok(selected)
}

fn unknown_environment(app: &Application, wanted: &str, names: &[&str]) -> Error {
    let message = if names.is_empty() {
        format!(
            "application \"{}\" has no environment \"{wanted}\": it defines none (environments \
             are the deploy steps of spec.workflow, else its topology policies)",
            app.name
        )
    } else {
        format!(
            "application \"{}\" has no environment \"{wanted}\"{}; its environments: {}",
            app.name,
            did_you_mean(wanted, names.iter().copied()),
            names.join(", ")
        )
    };
    Error::Invalid {
        site: Box::new(file_site(&app.source)),
        message,
    }
}

/// The environments of an application, their policies parsed once.
struct Plan<'a> {
    /// Every override and topology policy: those of `spec.policies`, then inline ones.
    rules: Vec<Rule<'a>>,
    envs: Vec<Env>,
}

/// An environment: its name and the indices of its rules in [`Plan::rules`], in order.
struct Env {
    name: Option<String>,
    rules: Vec<usize>,
}

impl<'a> Plan<'a> {
    fn new(app: &'a Application) -> Result<Plan<'a>> {
        let source = app.source.as_ref();
        let mut rules = Vec::new();
        // Index in `rules` of each policy of `spec.policies` (None: another type).
        let mut by_policy = Vec::with_capacity(app.policies.len());
        for policy in &app.policies {
            by_policy.push(match Rule::parse(app, policy)? {
                Some(rule) => {
                    rules.push(rule);
                    Some(rules.len() - 1)
                }
                None => None,
            });
        }

        let mut steps = Vec::new();
        deploy_steps(&app.workflow_steps, &mut steps);
        let mut envs: Vec<Env> = Vec::new();
        if !steps.is_empty() {
            for step in steps {
                let Some(name) = step.name.clone() else {
                    return Err(source.invalid(
                        &step.path,
                        "a deploy step needs a name: it names the environment",
                    ));
                };
                if envs
                    .iter()
                    .any(|e| e.name.as_deref() == Some(name.as_str()))
                {
                    return Err(source.invalid(
                        &key(&step.path, "name"),
                        format!("duplicate deploy step name \"{name}\""),
                    ));
                }
                let mut env = Env {
                    name: Some(name),
                    rules: Vec::new(),
                };
                let policies_path = key(&key(&step.path, "properties"), "policies");
                for (i, wanted) in step.policies.iter().enumerate() {
                    let mut path = policies_path.clone();
                    path.push(Segment::Index(i));
                    match app.policies.iter().position(|p| &p.name == wanted) {
                        Some(index) => env.rules.extend(by_policy[index]),
                        None => {
                            return Err(source.invalid(
                                &path,
                                format!(
                                    "no policy named \"{wanted}\"{}",
                                    did_you_mean(wanted, app.policies.iter().map(|p| &*p.name))
                                ),
                            ));
                        }
                    }
                }
                for policy in &step.inline_policies {
                    if let Some(rule) = Rule::parse(app, policy)? {
                        rules.push(rule);
                        env.rules.push(rules.len() - 1);
                    }
                }
                envs.push(env);
            }
        } else {
            let of_type = |wanted: &str| -> Vec<usize> {
                (0..rules.len())
                    .filter(|&i| rules[i].policy().type_name == wanted)
                    .collect()
            };
            let overrides = of_type(OVERRIDE);
            let topologies = of_type(TOPOLOGY);
            if !topologies.is_empty() {
                for t in topologies {
                    let mut env_rules = vec![t];
                    env_rules.extend(&overrides);
                    envs.push(Env {
                        name: Some(rules[t].policy().name.clone()),
                        rules: env_rules,
                    });
                }
            } else if !overrides.is_empty() {
                envs.push(Env {
                    name: None,
                    rules: overrides,
                });
            }
        }
        Ok(Plan { rules, envs })
    }
}

/// The `deploy` steps of `steps` and of their sub-steps, in file order.
fn deploy_steps<'a>(steps: &'a [WorkflowStep], out: &mut Vec<&'a WorkflowStep>) {
    for step in steps {
        if step.type_name == DEPLOY {
            out.push(step);
        }
        deploy_steps(&step.sub_steps, out);
    }
}

/// A parsed `override` or `topology` policy.
enum Rule<'a> {
    Override(Override<'a>),
    Topology(Topology<'a>),
}

struct Override<'a> {
    policy: &'a Policy,
    patches: Vec<ComponentPatch>,
    /// Names of the components to keep; `None` (or empty) keeps all.
    selector: Option<Vec<String>>,
}

/// One entry of an override's `components`.
struct ComponentPatch {
    name: Option<String>,
    type_name: Option<String>,
    properties: Option<Map<String, Value>>,
    traits: Vec<TraitPatch>,
    path: Vec<Segment>,
}

struct TraitPatch {
    type_name: String,
    properties: Map<String, Value>,
    disable: bool,
    path: Vec<Segment>,
    properties_path: Vec<Segment>,
}

struct Topology<'a> {
    policy: &'a Policy,
    namespace: Option<String>,
    /// Clusters other than `local`.
    other_clusters: Vec<String>,
    /// The cluster selector fields present (`clusterLabelSelector`, `clusterSelector`).
    selectors: Vec<&'static str>,
}

impl<'a> Rule<'a> {
    fn policy(&self) -> &'a Policy {
        match self {
            Rule::Override(o) => o.policy,
            Rule::Topology(t) => t.policy,
        }
    }

    /// Parses `policy` when it is an override or a topology (`None` for other types).
    fn parse(app: &Application, policy: &'a Policy) -> Result<Option<Rule<'a>>> {
        let reader = Reader {
            source: &app.source,
            what: policy.type_name.as_str(),
        };
        match policy.type_name.as_str() {
            OVERRIDE => reader
                .read_override(app, policy)
                .map(|o| Some(Rule::Override(o))),
            TOPOLOGY => reader
                .read_topology(policy)
                .map(|t| Some(Rule::Topology(t))),
            _ => Ok(None),
        }
    }
}

/// Reads policy properties (JSON values) at their paths in the file.
struct Reader<'s> {
    source: &'s Source,
    /// The policy type, for messages.
    what: &'s str,
}

impl Reader<'_> {
    fn read_override<'a>(&self, app: &Application, policy: &'a Policy) -> Result<Override<'a>> {
        let path = &policy.properties_path;
        self.check_keys(&policy.properties, path, "", &["components", "selector"])?;
        let mut patches = Vec::new();
        if let Some(items) = self.list(&policy.properties, path, "components")? {
            for (i, item) in items.iter().enumerate() {
                let mut item_path = key(path, "components");
                item_path.push(Segment::Index(i));
                patches.push(self.read_component_patch(item, item_path)?);
            }
        }
        let selector = match self.list(&policy.properties, path, "selector")? {
            None => None,
            Some(items) => {
                let mut names = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let mut item_path = key(path, "selector");
                    item_path.push(Segment::Index(i));
                    let name = self.string(item, &item_path)?;
                    if !app.components.iter().any(|c| c.name == name) {
                        return Err(self.source.invalid(
                            &item_path,
                            format!(
                                "no component named \"{name}\"{}",
                                did_you_mean(&name, app.components.iter().map(|c| &*c.name))
                            ),
                        ));
                    }
                    names.push(name);
                }
                Some(names)
            }
        };
        Ok(Override {
            policy,
            patches,
            selector,
        })
    }

    fn read_component_patch(&self, item: &Value, path: Vec<Segment>) -> Result<ComponentPatch> {
        let map = self.map(item, &path)?;
        self.check_keys(
            map,
            &path,
            " component",
            &["name", "type", "properties", "traits", "externalRevision"],
        )?;
        let name = self.optional_string(map, &path, "name")?;
        let type_name = self.optional_string(map, &path, "type")?;
        let properties = match map.get("properties") {
            None | Some(Value::Null) => None,
            Some(value) => Some(self.map(value, &key(&path, "properties"))?.clone()),
        };
        let mut traits = Vec::new();
        if let Some(items) = self.list(map, &path, "traits")? {
            for (i, item) in items.iter().enumerate() {
                let mut trait_path = key(&path, "traits");
                trait_path.push(Segment::Index(i));
                traits.push(self.read_trait_patch(item, trait_path)?);
            }
        }
        Ok(ComponentPatch {
            name: name.filter(|n| !n.is_empty()),
            type_name: type_name.filter(|t| !t.is_empty()),
            properties,
            traits,
            path,
        })
    }

    fn read_trait_patch(&self, item: &Value, path: Vec<Segment>) -> Result<TraitPatch> {
        let map = self.map(item, &path)?;
        self.check_keys(map, &path, " trait", &["type", "properties", "disable"])?;
        let Some(type_name) = self.optional_string(map, &path, "type")? else {
            return Err(self.source.invalid(&path, "missing trait type"));
        };
        let properties_path = key(&path, "properties");
        let properties = match map.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(value) => self.map(value, &properties_path)?.clone(),
        };
        let disable = match map.get("disable") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(self.source.invalid(
                    &key(&path, "disable"),
                    format!("expected a boolean, found {}", type_of(other)),
                ));
            }
        };
        Ok(TraitPatch {
            type_name,
            properties,
            disable,
            path,
            properties_path,
        })
    }

    fn read_topology<'a>(&self, policy: &'a Policy) -> Result<Topology<'a>> {
        let path = &policy.properties_path;
        let props = &policy.properties;
        self.check_keys(
            props,
            path,
            "",
            &[
                "clusters",
                "clusterLabelSelector",
                "clusterSelector",
                "allowEmpty",
                "namespace",
            ],
        )?;
        let namespace = self.optional_string(props, path, "namespace")?;
        if let Some(namespace) = &namespace {
            crate::app::check_name(self.source, namespace, &key(path, "namespace"))?;
        }
        let mut other_clusters = Vec::new();
        if let Some(items) = self.list(props, path, "clusters")? {
            for (i, item) in items.iter().enumerate() {
                let mut item_path = key(path, "clusters");
                item_path.push(Segment::Index(i));
                let cluster = self.string(item, &item_path)?;
                if cluster != LOCAL_CLUSTER {
                    other_clusters.push(cluster);
                }
            }
        }
        let mut selectors = Vec::new();
        for field in ["clusterLabelSelector", "clusterSelector"] {
            match props.get(field) {
                None | Some(Value::Null) => {}
                Some(value) => {
                    let field_path = key(path, field);
                    for (k, v) in self.map(value, &field_path)? {
                        self.string(v, &key(&field_path, k))?;
                    }
                    selectors.push(field);
                }
            }
        }
        if let Some(value) = props.get("allowEmpty")
            && !matches!(value, Value::Bool(_) | Value::Null)
        {
            return Err(self.source.invalid(
                &key(path, "allowEmpty"),
                format!("expected a boolean, found {}", type_of(value)),
            ));
        }
        Ok(Topology {
            policy,
            namespace,
            other_clusters,
            selectors,
        })
    }

    /// Refuses keys of `map` other than `allowed` (KubeVela reads these strictly too).
    fn check_keys(
        &self,
        map: &Map<String, Value>,
        path: &[Segment],
        part: &str,
        allowed: &[&str],
    ) -> Result<()> {
        for k in map.keys() {
            if !allowed.contains(&k.as_str()) {
                return Err(self.source.invalid(
                    &key(path, k),
                    format!(
                        "unknown {}{part} field \"{k}\" (expected {})",
                        self.what,
                        allowed.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    fn map<'v>(&self, value: &'v Value, path: &[Segment]) -> Result<&'v Map<String, Value>> {
        match value {
            Value::Object(map) => Ok(map),
            other => Err(self
                .source
                .invalid(path, format!("expected a map, found {}", type_of(other)))),
        }
    }

    fn string(&self, value: &Value, path: &[Segment]) -> Result<String> {
        match value {
            Value::String(s) => Ok(s.clone()),
            other => Err(self
                .source
                .invalid(path, format!("expected a string, found {}", type_of(other)))),
        }
    }

    fn optional_string(
        &self,
        map: &Map<String, Value>,
        path: &[Segment],
        field: &str,
    ) -> Result<Option<String>> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => self.string(value, &key(path, field)).map(Some),
        }
    }

    /// The list at `map[field]` (`None` when absent or null).
    fn list<'v>(
        &self,
        map: &'v Map<String, Value>,
        path: &[Segment],
        field: &str,
    ) -> Result<Option<&'v Vec<Value>>> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.source.invalid(
                &key(path, field),
                format!("expected a list, found {}", type_of(other)),
            )),
        }
    }
}

/// Applies an environment's rules, in order, to `selected.app`.
fn apply(selected: &mut Selected, rules: &[&Rule]) -> Result<()> {
    let source = selected.app.source.clone();
    // The namespace set so far, and the topology that set it.
    let mut namespace: Option<(&str, &Policy)> = None;
    for rule in rules {
        match rule {
            Rule::Topology(t) => {
                let path = &t.policy.properties_path;
                if let Some(ns) = t.namespace.as_deref() {
                    if let Some((earlier, by)) = namespace
                        && earlier != ns
                    {
                        return Err(source.invalid(
                            &key(path, "namespace"),
                            format!(
                                "topology policy \"{}\" deploys to namespace \"{ns}\", but \
                                 topology policy \"{}\" of the same environment to \"{earlier}\": \
                                 Kiln renders one namespace per environment",
                                t.policy.name, by.name
                            ),
                        ));
                    }
                    namespace = Some((ns, t.policy));
                }
                if !t.other_clusters.is_empty() {
                    let list: Vec<String> = t
                        .other_clusters
                        .iter()
                        .map(|c| format!("\"{c}\""))
                        .collect();
                    let clusters = match list.as_slice() {
                        [one] => format!("cluster {one} is"),
                        _ => format!("clusters {} are", list.join(", ")),
                    };
                    selected.warnings.push(warning(
                        &source,
                        &key(path, "clusters"),
                        &format!(
                            "topology policy \"{}\": {clusters} not rendered: Kiln renders for \
                             one cluster, Argo CD's destination",
                            t.policy.name,
                        ),
                    ));
                }
                for field in &t.selectors {
                    selected.warnings.push(warning(
                        &source,
                        &key(path, field),
                        &format!(
                            "topology policy \"{}\": {field} is ignored: Kiln renders for one \
                             cluster, Argo CD's destination",
                            t.policy.name
                        ),
                    ));
                }
            }
            Rule::Override(o) => apply_override(selected, o),
        }
    }
    if let Some((ns, _)) = namespace {
        selected.app.namespace = Some(ns.to_string());
    }
    Ok(())
}

fn apply_override(selected: &mut Selected, o: &Override) {
    let components = &mut selected.app.components;
    for patch in &o.patches {
        let mut matched = false;
        for component in components.iter_mut().filter(|c| patch.matches(c)) {
            matched = true;
            patch_component(component, patch);
        }
        if let Some(name) = patch.name.as_deref().filter(|n| !n.contains('*'))
            && !matched
        {
            selected.warnings.push(warning(
                &selected.app.source,
                &key(&patch.path, "name"),
                &format!(
                    "override policy \"{}\": no component named \"{name}\"{}{}: this entry \
                     changes nothing",
                    o.policy.name,
                    patch
                        .type_name
                        .as_deref()
                        .map(|t| format!(" of type \"{t}\""))
                        .unwrap_or_default(),
                    did_you_mean(name, components.iter().map(|c| &*c.name)),
                ),
            ));
        }
    }
    if let Some(keep) = o.selector.as_ref().filter(|s| !s.is_empty()) {
        components.retain(|c| keep.contains(&c.name));
    }
}

impl ComponentPatch {
    fn matches(&self, component: &Component) -> bool {
        self.name
            .as_deref()
            .is_none_or(|pattern| glob(pattern, &component.name))
            && self
                .type_name
                .as_deref()
                .is_none_or(|t| t == component.type_name)
    }
}

fn patch_component(component: &mut Component, patch: &ComponentPatch) {
    if let Some(properties) = &patch.properties {
        merge(&mut component.properties, properties);
    }
    for t in &patch.traits {
        if t.disable {
            component.traits.retain(|u| u.type_name != t.type_name);
            continue;
        }
        let mut found = false;
        for used in component
            .traits
            .iter_mut()
            .filter(|u| u.type_name == t.type_name)
        {
            found = true;
            merge(&mut used.properties, &t.properties);
        }
        if !found {
            let mut properties = Map::new();
            merge(&mut properties, &t.properties);
            component.traits.push(TraitUse {
                type_name: t.type_name.clone(),
                properties,
                path: t.path.clone(),
                properties_path: t.properties_path.clone(),
                position: None,
            });
        }
    }
}

/// Merges `patch` into `base`: maps merge key by key, `null` removes the key, other values
/// replace.
fn merge(base: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, value) in patch {
        match (base.get_mut(k), value) {
            (_, Value::Null) => {
                base.remove(k);
            }
            (Some(Value::Object(inner)), Value::Object(patch)) => merge(inner, patch),
            (_, Value::Object(patch)) => {
                let mut fresh = Map::new();
                merge(&mut fresh, patch);
                base.insert(k.clone(), Value::Object(fresh));
            }
            _ => {
                base.insert(k.clone(), value.clone());
            }
        }
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty(); // no `*`: an exact match
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// ` (did you mean "x"?)` when a candidate is close to `name`, else nothing.
fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    candidates
        .map(|c| (strsim::damerau_levenshtein(name, c), c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(1))
        .min()
        .map(|(_, c)| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default()
}

fn file_site(source: &Source) -> Site {
    Site {
        file: Some(source.file.clone()),
        ..Site::default()
    }
}

/// A warning at `path`, prefixed like an error (`file:line:col: field "...": `).
fn warning(source: &Source, path: &[Segment], message: &str) -> String {
    let site = Site {
        field: Some(dotted(path)),
        ..source.site(path)
    };
    format!("{site}warning: {message}")
}

/// A JSON value's type, worded like [`crate::app::yaml::Node::type_name`].
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests;
