//! The plan: every known case id (catalogue scenarios and behaviour checks), narrowed by a
//! [`Selection`], built into runnable [`Item`]s.

use alipay_sim::{BugClass, Catalogue, Scenario, Severity};
use serde::Serialize;

use crate::behaviour::Check;
use crate::select::{SelectError, Selection};
use crate::verdict::CaseKind;

/// One runnable item.
#[derive(Debug, Clone)]
pub enum Item {
    /// A catalogue case (built into an [`alipay_sim::Built`] when it runs, so sealing
    /// happens in parallel on the runtime's workers).
    Case(Box<Scenario>),
    /// A behaviour check.
    Behaviour(Check),
}

/// A case as `list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// Stable id.
    pub id: String,
    /// Platform, tamper or behaviour.
    pub kind: CaseKind,
    /// Severity of a failure.
    pub severity: Severity,
    /// Bug class of a failure.
    pub bug_class: BugClass,
    /// One-line title.
    pub title: String,
}

/// Every case known to the harness, sorted by id.
pub fn listing(catalogue: &Catalogue, behaviour: bool) -> Vec<Listed> {
    listing_for(catalogue, true, behaviour, false)
}

/// The cases of the modes asked for: the catalogue (`phone`), the behaviour checks, the login
/// cases ([`crate::login`]); sorted by id.
pub fn listing_for(
    catalogue: &Catalogue,
    phone: bool,
    behaviour: bool,
    login: bool,
) -> Vec<Listed> {
    let mut all: Vec<Listed> = Vec::new();
    if login {
        all.extend(crate::login::LoginCase::ALL.iter().map(|c| Listed {
            id: c.id().into(),
            kind: CaseKind::Login,
            severity: c.severity(),
            bug_class: c.bug_class(),
            title: c.title().into(),
        }));
    }
    if !phone {
        all.sort_by(|a, b| a.id.cmp(&b.id));
        return all;
    }
    all.extend(catalogue.scenarios().iter().map(|s| Listed {
        id: s.id.clone(),
        kind: s.kind().into(),
        severity: s.severity,
        bug_class: s.bug_class,
        title: s.title.clone(),
    }));
    if behaviour {
        all.extend(Check::all().into_iter().map(|c| Listed {
            id: c.id().into(),
            kind: CaseKind::Behaviour,
            severity: c.severity(),
            bug_class: c.bug_class(),
            title: c.title(),
        }));
    }
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all
}

/// The listed cases chosen by `selection`.
pub fn select(
    catalogue: &Catalogue,
    behaviour: bool,
    selection: &Selection,
) -> Result<Vec<Listed>, SelectError> {
    select_for(catalogue, true, behaviour, false, selection)
}

/// [`select`] over [`listing_for`].
pub fn select_for(
    catalogue: &Catalogue,
    phone: bool,
    behaviour: bool,
    login: bool,
    selection: &Selection,
) -> Result<Vec<Listed>, SelectError> {
    let all = listing_for(catalogue, phone, behaviour, login);
    let ids: Vec<String> = all.iter().map(|l| l.id.clone()).collect();
    let chosen = selection.apply(&ids)?;
    Ok(all
        .into_iter()
        .filter(|l| chosen.binary_search(&l.id).is_ok())
        .collect())
}

/// The runnable items for the chosen cases.
pub fn build(catalogue: &Catalogue, chosen: &[Listed]) -> Vec<Item> {
    chosen
        .iter()
        .filter_map(|l| {
            if let Some(s) = catalogue.get(&l.id) {
                Some(Item::Case(Box::new(s.clone())))
            } else {
                Check::all()
                    .into_iter()
                    .find(|c| c.id() == l.id)
                    .map(Item::Behaviour)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_has_the_catalogue_and_the_behaviour_checks() {
        let cat = Catalogue::embedded();
        let all = listing(&cat, true);
        assert_eq!(all.len(), cat.len() + 2);
        for id in [
            crate::behaviour::DISTINCT_MOBILES,
            crate::behaviour::UNIFORM_REJECTION,
        ] {
            assert!(all.iter().any(|l| l.id == id), "{id}");
        }
        assert_eq!(listing(&cat, false).len(), cat.len());
        let sel = Selection {
            cases: vec!["behaviour.*".into(), "tamper.body.empty".into()],
            ..Selection::default()
        };
        let chosen = select(&cat, true, &sel).unwrap();
        let items = build(&cat, &chosen);
        assert_eq!(items.len(), 3);
        assert!(items.iter().any(|i| matches!(i, Item::Behaviour(_))));
    }
}
