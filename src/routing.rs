//! Dial plan: request-URI user part -> application or bridge target.
//!
//! Each `[[routes]]` entry is a regex on the user part of the request URI and
//! an application whose parameters may refer to the regex's capture groups:
//! `$1`, `${1}` or `${name}` (`$$` is a literal dollar). Routes are tried in
//! order and the first match wins. The regex matches anywhere in the user
//! part unless anchored, so `^...$` is recommended: `echo` alone would also
//! route `echoes` and `my-echo`.

use regex::{Captures, Regex};

use crate::config::{Application, ConfigError, ConfigErrors, RouteConfig};

/// The compiled `[[routes]]`.
#[derive(Clone, Debug)]
pub struct DialPlan {
    routes: Vec<CompiledRoute>,
}

/// Where a call goes: the matching route and its application, with the
/// parameters substituted from the captures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTarget {
    /// Index of the matching entry in `[[routes]]` (0-based).
    pub route_index: usize,
    pub application: Application<String>,
    /// How long to ring before answering.
    pub ring: std::time::Duration,
    /// Bridge routes: the outgoing leg's codecs (`None` = the media list).
    pub codecs: Option<Vec<crate::codec::CodecKind>>,
    /// Bridge routes: how long the outgoing call may ring.
    pub no_answer: Option<std::time::Duration>,
    /// Bridge routes: how key presses reach the outgoing leg.
    pub dtmf: crate::config::DtmfMode,
    /// The route's SRTP keys (see [`crate::config::RouteConfig::srtp`]).
    pub srtp: crate::config::SrtpOverrides,
}

#[derive(Clone, Debug)]
struct CompiledRoute {
    index: usize,
    ring_ms: u32,
    codecs: Option<Vec<crate::codec::CodecKind>>,
    no_answer_ms: Option<u32>,
    dtmf: crate::config::DtmfMode,
    srtp: crate::config::SrtpOverrides,
    regex: Regex,
    application: Application<Template>,
}

impl DialPlan {
    /// Compiles every route, reporting all bad regexes and templates at once.
    pub fn compile(routes: &[RouteConfig]) -> Result<DialPlan, ConfigErrors> {
        let mut compiled = Vec::with_capacity(routes.len());
        let mut errors = Vec::new();
        for (index, route) in routes.iter().enumerate() {
            match compile_route(index, route) {
                Ok(route) => compiled.push(route),
                Err(route_errors) => errors.extend(route_errors),
            }
        }
        ConfigErrors::check(errors)?;
        Ok(DialPlan { routes: compiled })
    }

    /// The first route whose regex matches `user`, or `None` (-> 404).
    ///
    /// A substituted parameter holds only what the regex captured, so a
    /// parameter cannot smuggle in path separators or `..` unless the route's
    /// regex lets them through; a capture group that did not take part in the
    /// match substitutes as empty.
    pub fn route(&self, user: &str) -> Option<RouteTarget> {
        self.routes.iter().find_map(|route| {
            let captures = route.regex.captures(user)?;
            Some(RouteTarget {
                route_index: route.index,
                ring: std::time::Duration::from_millis(route.ring_ms as u64),
                codecs: route.codecs.clone(),
                no_answer: route
                    .no_answer_ms
                    .map(|ms| std::time::Duration::from_millis(ms as u64)),
                dtmf: route.dtmf,
                srtp: route.srtp.clone(),
                application: route
                    .application
                    .map(|_, template| template.expand(&captures)),
            })
        })
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

/// The problems of route `index`, for configuration validation.
pub(crate) fn check_route(index: usize, route: &RouteConfig) -> Vec<ConfigError> {
    compile_route(index, route).err().unwrap_or_default()
}

fn compile_route(index: usize, route: &RouteConfig) -> Result<CompiledRoute, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let regex = Regex::new(&route.pattern)
        .map_err(|e| {
            errors.push(ConfigError::invalid(
                format!("routes[{index}].match"),
                format!("bad regex: {}", regex_problem(&e)),
            ));
        })
        .ok();
    let application = route.application.map(|key, text| {
        checked_template(text, regex.as_ref()).unwrap_or_else(|problem| {
            errors.push(ConfigError::invalid(
                format!("routes[{index}].{key}"),
                problem,
            ));
            Template::default()
        })
    });
    match regex {
        Some(regex) if errors.is_empty() => Ok(CompiledRoute {
            index,
            ring_ms: route.ring_ms,
            codecs: route.codecs.clone(),
            no_answer_ms: route.no_answer_ms,
            dtmf: route.dtmf,
            srtp: route.srtp.clone(),
            regex,
            application,
        }),
        _ => Err(errors),
    }
}

/// Parses a parameter template and checks that the groups it names exist
/// (when the regex compiled; otherwise only the syntax can be checked).
fn checked_template(text: &str, regex: Option<&Regex>) -> Result<Template, String> {
    let template = Template::parse(text)?;
    if let Some(regex) = regex {
        if let Some(missing) = template.undefined_group(regex) {
            return Err(format!(
                "{missing} is not a capture group of `match` (it defines {})",
                defined_groups(regex)
            ));
        }
    }
    Ok(template)
}

/// The regex crate's message spans several lines (the pattern, a caret, the
/// error); configuration errors are one line each, so keep the error line.
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(
            || text.split_whitespace().collect::<Vec<_>>().join(" "),
            str::to_string,
        )
}

fn defined_groups(regex: &Regex) -> String {
    regex
        .capture_names()
        .enumerate()
        .map(|(i, name)| match name {
            Some(name) => format!("${i}/${{{name}}}"),
            None => format!("${i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A parameter template: literal text and capture-group references.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(String),
    Index(usize),
    Name(String),
}

impl Template {
    fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            literal.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            let (part, used) = if let Some(escaped) = after.strip_prefix('$') {
                literal.push('$');
                rest = escaped;
                continue;
            } else if let Some(braced) = after.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
                let group = &braced[..end];
                if group.is_empty() {
                    return Err(format!("empty `${{}}` in `{text}`"));
                }
                let part = match group.parse() {
                    Ok(index) => Part::Index(index),
                    Err(_) => Part::Name(group.to_string()),
                };
                (part, end + 2)
            } else {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                let index = after[..digits].parse().map_err(|_| {
                    format!("`$` must be followed by a group number, `{{name}}` or `$` in `{text}`")
                })?;
                (Part::Index(index), digits)
            };
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(part);
            rest = &after[used..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// The first reference to a group the regex does not define, written
    /// as in the template.
    fn undefined_group(&self, regex: &Regex) -> Option<String> {
        self.parts.iter().find_map(|part| match part {
            Part::Index(i) if *i >= regex.captures_len() => Some(format!("`${i}`")),
            Part::Name(name) if !regex.capture_names().any(|n| n == Some(name)) => {
                Some(format!("`${{{name}}}`"))
            }
            _ => None,
        })
    }

    fn expand(&self, captures: &Captures) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Literal(text) => text.as_str(),
                Part::Index(i) => captures.get(*i).map_or("", |m| m.as_str()),
                Part::Name(name) => captures.name(name).map_or("", |m| m.as_str()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigErrorKind;

    fn play(pattern: &str, prompt: &str) -> RouteConfig {
        RouteConfig::new(
            pattern,
            Application::Play {
                prompt: prompt.to_string(),
            },
        )
    }

    fn target(plan: &DialPlan, user: &str) -> Option<(usize, Application<String>)> {
        plan.route(user).map(|t| (t.route_index, t.application))
    }

    fn played(prompt: &str) -> Application<String> {
        Application::Play {
            prompt: prompt.to_string(),
        }
    }

    #[test]
    fn first_match_wins() {
        let plan = DialPlan::compile(&[
            RouteConfig::new("^echo$", Application::Echo),
            play("^e", "starts-with-e"),
            play("^echo", "never-reached-for-echo"),
        ])
        .unwrap();
        assert_eq!(target(&plan, "echo"), Some((0, Application::Echo)));
        assert_eq!(target(&plan, "echoes"), Some((1, played("starts-with-e"))));
    }

    #[test]
    fn captures_substitute_by_name_and_number() {
        let plan = DialPlan::compile(&[
            play("^play-(?P<name>[a-z]+)$", "${name}"),
            play("^say-([a-z]+)-([0-9]+)$", "$1/${2}-x$$"),
        ])
        .unwrap();
        assert_eq!(target(&plan, "play-welcome"), Some((0, played("welcome"))));
        assert_eq!(
            target(&plan, "say-digits-42"),
            Some((1, played("digits/42-x$")))
        );
    }

    #[test]
    fn no_match_is_none() {
        let plan = DialPlan::compile(&[RouteConfig::new("^echo$", Application::Echo)]).unwrap();
        assert_eq!(plan.route("echo2"), None);
        assert_eq!(plan.route(""), None);
        assert_eq!(DialPlan::compile(&[]).unwrap().route("echo"), None);
    }

    #[test]
    fn captured_text_is_all_a_parameter_gets() {
        let plan =
            DialPlan::compile(&[play("^play-(?P<name>[A-Za-z0-9_-]+)$", "${name}")]).unwrap();
        assert_eq!(plan.route("play-../../etc/passwd"), None);
        assert_eq!(plan.route("play-a/b"), None);
    }

    #[test]
    fn unmatched_optional_group_substitutes_empty() {
        let plan = DialPlan::compile(&[play("^p(-([a-z]+))?$", "x$2")]).unwrap();
        assert_eq!(target(&plan, "p"), Some((0, played("x"))));
        assert_eq!(target(&plan, "p-abc"), Some((0, played("xabc"))));
    }

    #[test]
    fn bad_regex_is_reported_with_its_route_index() {
        let errors = DialPlan::compile(&[
            RouteConfig::new("^echo$", Application::Echo),
            RouteConfig::new("^echo$", Application::Echo),
            play("^play-(?P<name", "x"),
            RouteConfig::new("(unclosed", Application::Echo),
        ])
        .unwrap_err();
        assert_eq!(
            errors.keys(),
            vec![Some("routes[2].match"), Some("routes[3].match")]
        );
        assert!(errors
            .iter()
            .all(|e| e.kind == ConfigErrorKind::InvalidValue));
        assert!(errors.iter().all(|e| !e.message.contains('\n')));
        assert!(
            errors.errors()[0].message.starts_with("bad regex: "),
            "{errors}"
        );
    }

    #[test]
    fn undefined_groups_are_reported() {
        let errors = DialPlan::compile(&[
            play("^play-(?P<name>[a-z]+)$", "${nme}"),
            play("^play-([a-z]+)$", "$2"),
            play("^play-([a-z]+)$", "${1}${0}"),
        ])
        .unwrap_err();
        assert_eq!(
            errors.keys(),
            vec![Some("routes[0].prompt"), Some("routes[1].prompt")]
        );
        assert_eq!(
            errors.errors()[0].message,
            "`${nme}` is not a capture group of `match` (it defines $0, $1/${name})"
        );
        assert!(errors.errors()[1].message.starts_with("`$2` is not"));
    }

    #[test]
    fn malformed_templates_are_reported() {
        for bad in ["a$", "$x", "${name", "${}"] {
            let errors = DialPlan::compile(&[play("^(?P<name>x)$", bad)]).unwrap_err();
            assert_eq!(errors.keys(), vec![Some("routes[0].prompt")], "{bad}");
        }
    }

    #[test]
    fn template_parts() {
        let template = Template::parse("a${n}b$12$$").unwrap();
        assert_eq!(
            template.parts,
            vec![
                Part::Literal("a".into()),
                Part::Name("n".into()),
                Part::Literal("b".into()),
                Part::Index(12),
                Part::Literal("$".into()),
            ]
        );
    }
}
