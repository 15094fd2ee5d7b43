//! Which tasks `--tags`/`--skip-tags` select, as Ansible decides it: `always` runs
//! unless skipped by name, `never` only when asked for, `tagged`/`untagged`/`all`.

/// The selection given on the command line.
#[derive(Clone, Debug, Default)]
pub struct TagFilter {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl TagFilter {
    pub fn new(only: &[String], skip: &[String]) -> TagFilter {
        let split = |v: &[String]| {
            v.iter()
                .flat_map(|t| t.split(','))
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
        };
        TagFilter {
            only: split(only),
            skip: split(skip),
        }
    }

    /// Does a task with these (effective) tags run?
    pub fn runs(&self, tags: &[String]) -> bool {
        let has = |t: &str| tags.iter().any(|x| x == t);
        let only: Vec<&str> = if self.only.is_empty() {
            vec!["all"]
        } else {
            self.only.iter().map(String::as_str).collect()
        };
        let mut run = false;
        if has("always") {
            run = true;
        } else {
            for sel in &only {
                let hit = match *sel {
                    "all" => !has("never"),
                    "tagged" => !tags.is_empty() && !has("never"),
                    "untagged" => tags.is_empty(),
                    t => has(t),
                };
                if hit {
                    run = true;
                    break;
                }
            }
        }
        if run && !self.skip.is_empty() {
            for sel in &self.skip {
                let hit = match sel.as_str() {
                    // `--skip-tags all` keeps `always` tasks unless `always` is skipped too.
                    "all" => !has("always") || self.skip.iter().any(|s| s == "always"),
                    "tagged" => !tags.is_empty(),
                    "untagged" => tags.is_empty(),
                    t => has(t),
                };
                if hit {
                    return false;
                }
            }
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_runs_all_but_never() {
        let f = TagFilter::default();
        assert!(f.runs(&[]));
        assert!(f.runs(&tags(&["x"])));
        assert!(!f.runs(&tags(&["never"])));
        assert!(f.runs(&tags(&["always"])));
    }

    #[test]
    fn only_and_skip() {
        let f = TagFilter::new(&tags(&["a,b"]), &tags(&["c"]));
        assert!(f.runs(&tags(&["a"])));
        assert!(!f.runs(&tags(&["a", "c"])));
        assert!(!f.runs(&tags(&["z"])));
        assert!(f.runs(&tags(&["always"])));
        assert!(f.runs(&tags(&["never", "b"])));
        assert!(!TagFilter::new(&[], &tags(&["always"])).runs(&tags(&["always"])));
        assert!(TagFilter::new(&[], &tags(&["all"])).runs(&tags(&["always"])));
        assert!(!TagFilter::new(&[], &tags(&["all"])).runs(&tags(&["x"])));
        assert!(!TagFilter::new(&[], &tags(&["all", "always"])).runs(&tags(&["always"])));
        assert!(TagFilter::new(&tags(&["untagged"]), &[]).runs(&[]));
    }
}
