//! Randomness: `random`, `shuffle`, `random_mac`. A `seed` makes the result
//! repeatable (the same seed gives the same pick on every run and host), though
//! not the same pick as Python's Mersenne Twister would make.

use std::hash::{Hash, Hasher};

use super::add_filter;
use minijinja::value::{Kwargs, Value as MjValue, ValueKind};
use minijinja::{Environment, Error};

use super::{items, py_str};
use crate::template::errors::plugin_error;

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "random", random);
    add_filter(env, "shuffle", shuffle);
    add_filter(env, "random_mac", random_mac);
}

fn rng(seed: Option<MjValue>) -> Result<fastrand::Rng, Error> {
    Ok(match seed {
        Some(s) if !s.is_none() => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            py_str(&s)?.hash(&mut h);
            fastrand::Rng::with_seed(h.finish())
        }
        _ => fastrand::Rng::new(),
    })
}

fn random(v: &MjValue, start: Option<i64>, kwargs: Kwargs) -> Result<MjValue, Error> {
    let mut r = rng(kwargs.get("seed")?)?;
    let start = kwargs.get::<Option<i64>>("start")?.or(start).unwrap_or(0);
    let step = kwargs.get::<Option<i64>>("step")?.unwrap_or(1).max(1);
    kwargs.assert_all_used()?;
    if v.kind() == ValueKind::Number {
        let end = v
            .as_i64()
            .ok_or_else(|| plugin_error("random needs an integer end"))?;
        if end <= start {
            return Err(plugin_error("empty range for random"));
        }
        let count = (end - start + step - 1) / step;
        return Ok(MjValue::from(start + r.i64(0..count) * step));
    }
    let list = items(v, "random")?;
    if list.is_empty() {
        return Err(plugin_error("random: cannot choose from an empty sequence"));
    }
    Ok(list[r.usize(0..list.len())].clone())
}

fn shuffle(v: &MjValue, kwargs: Kwargs) -> Result<MjValue, Error> {
    let mut r = rng(kwargs.get("seed")?)?;
    kwargs.assert_all_used()?;
    let mut list = items(v, "shuffle")?;
    r.shuffle(&mut list);
    Ok(MjValue::from(list))
}

/// Completes a MAC prefix (`'52:54:00'`) with random bytes.
fn random_mac(v: &MjValue, kwargs: Kwargs) -> Result<String, Error> {
    let mut r = rng(kwargs.get("seed")?)?;
    kwargs.assert_all_used()?;
    let prefix = py_str(v)?;
    let parts: Vec<&str> = prefix.split(':').filter(|p| !p.is_empty()).collect();
    if parts.len() > 5
        || parts
            .iter()
            .any(|p| p.len() > 2 || u8::from_str_radix(p, 16).is_err())
    {
        return Err(plugin_error(format!(
            "Invalid value ({prefix}) for random_mac: {prefix} not hexa byte"
        )));
    }
    let mut out: Vec<String> = parts.iter().map(|p| p.to_lowercase()).collect();
    while out.len() < 6 {
        out.push(format!("{:02x}", r.u8(..)));
    }
    Ok(out.join(":"))
}
