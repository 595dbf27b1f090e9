//! [`Parameters`] for the standard types a model is made of: [`Array`] (a leaf), `Box`,
//! `Option`, `Vec`, arrays, string-keyed maps and tuples of parameter trees.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use super::{ModuleState, ParamPath, Parameters};
use crate::array::Array;
use crate::error::Result;

impl Parameters for Array {
    fn visit_leaves<'a>(&'a self, path: &ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Array)) {
        f(path, self)
    }

    fn visit_leaves_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
    ) -> Result<()> {
        f(path, self)
    }

    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        f(path, self)
    }
}

impl<T: Parameters> Parameters for Box<T> {
    fn visit_modules_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
    ) -> Result<()>
    where
        Self: 'static,
    {
        (**self).visit_modules_mut(path, f)
    }

    fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
        (**self).visit_states(f)
    }

    fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
        (**self).visit_states_mut(f)
    }

    fn visit_leaves<'a>(&'a self, path: &ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Array)) {
        (**self).visit_leaves(path, f)
    }

    fn visit_leaves_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
    ) -> Result<()> {
        (**self).visit_leaves_mut(path, f)
    }

    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        Ok(Box::new((**self).map_leaves(path, f)?))
    }
}

impl<T: Parameters> Parameters for Option<T> {
    fn visit_modules_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
    ) -> Result<()>
    where
        Self: 'static,
    {
        match self {
            Some(x) => x.visit_modules_mut(path, f),
            None => Ok(()),
        }
    }

    fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
        if let Some(x) = self {
            x.visit_states(f)
        }
    }

    fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
        if let Some(x) = self {
            x.visit_states_mut(f)
        }
    }

    fn visit_leaves<'a>(&'a self, path: &ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Array)) {
        if let Some(x) = self {
            x.visit_leaves(path, f)
        }
    }

    fn visit_leaves_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
    ) -> Result<()> {
        match self {
            Some(x) => x.visit_leaves_mut(path, f),
            None => Ok(()),
        }
    }

    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        self.as_ref().map(|x| x.map_leaves(path, f)).transpose()
    }
}

/// A collection whose children are parameter trees reached by a key: the index of a `Vec` or
/// an array, the name in a map. Children are visited in a fixed order (index order; sorted names,
/// also for a `HashMap`), so that paths and flattened parameters come out the same every time.
trait Keyed {
    type Child: Parameters;
    type Key<'a>: std::fmt::Display
    where
        Self: 'a;

    fn entries(&self) -> impl Iterator<Item = (Self::Key<'_>, &Self::Child)>;
    fn entries_mut(&mut self) -> impl Iterator<Item = (Self::Key<'_>, &mut Self::Child)>;
}

impl<T: Parameters> Keyed for Vec<T> {
    type Child = T;
    type Key<'a>
        = usize
    where
        T: 'a;

    fn entries(&self) -> impl Iterator<Item = (usize, &T)> {
        self.iter().enumerate()
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = (usize, &mut T)> {
        self.iter_mut().enumerate()
    }
}

impl<T: Parameters, const N: usize> Keyed for [T; N] {
    type Child = T;
    type Key<'a>
        = usize
    where
        T: 'a;

    fn entries(&self) -> impl Iterator<Item = (usize, &T)> {
        self.iter().enumerate()
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = (usize, &mut T)> {
        self.iter_mut().enumerate()
    }
}

impl<T: Parameters> Keyed for BTreeMap<String, T> {
    type Child = T;
    type Key<'a>
        = &'a String
    where
        T: 'a;

    fn entries(&self) -> impl Iterator<Item = (&String, &T)> {
        self.iter()
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = (&String, &mut T)> {
        self.iter_mut()
    }
}

impl<T: Parameters, S: BuildHasher> Keyed for HashMap<String, T, S> {
    type Child = T;
    type Key<'a>
        = &'a String
    where
        T: 'a,
        S: 'a;

    fn entries(&self) -> impl Iterator<Item = (&String, &T)> {
        let mut entries: Vec<(&String, &T)> = self.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries.into_iter()
    }

    fn entries_mut(&mut self) -> impl Iterator<Item = (&String, &mut T)> {
        let mut entries: Vec<(&String, &mut T)> = self.iter_mut().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries.into_iter()
    }
}

/// [`Parameters`] for a [`Keyed`] collection: every visit goes through its entries; the given
/// `map_leaves` builds the collection back.
macro_rules! keyed_parameters {
    ([$($generics:tt)*] $collection:ty, $map_leaves:item) => {
        impl<$($generics)*> Parameters for $collection {
            fn visit_modules_mut(
                &mut self,
                path: &ParamPath,
                f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
            ) -> Result<()>
            where
                Self: 'static,
            {
                for (key, x) in self.entries_mut() {
                    x.visit_modules_mut(&path.child(key), f)?;
                }
                Ok(())
            }

            fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
                self.entries().for_each(|(_, x)| x.visit_states(f))
            }

            fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
                self.entries_mut().for_each(|(_, x)| x.visit_states_mut(f))
            }

            fn visit_leaves<'a>(
                &'a self,
                path: &ParamPath,
                f: &mut dyn FnMut(&ParamPath, &'a Array),
            ) {
                for (key, x) in self.entries() {
                    x.visit_leaves(&path.child(key), f);
                }
            }

            fn visit_leaves_mut(
                &mut self,
                path: &ParamPath,
                f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
            ) -> Result<()> {
                for (key, x) in self.entries_mut() {
                    x.visit_leaves_mut(&path.child(key), f)?;
                }
                Ok(())
            }

            $map_leaves
        }
    };
}

keyed_parameters!(
    [T: Parameters] Vec<T>,
    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        self.entries()
            .map(|(i, x)| x.map_leaves(&path.child(i), f))
            .collect()
    }
);

keyed_parameters!(
    [T: Parameters, const N: usize] [T; N],
    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        let items = self
            .entries()
            .map(|(i, x)| x.map_leaves(&path.child(i), f))
            .collect::<Result<Vec<T>>>()?;
        match items.try_into() {
            Ok(array) => Ok(array),
            Err(_) => unreachable!("mapping keeps the length"),
        }
    }
);

keyed_parameters!(
    [T: Parameters] BTreeMap<String, T>,
    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        self.entries()
            .map(|(k, x)| Ok((k.clone(), x.map_leaves(&path.child(k), f)?)))
            .collect()
    }
);

keyed_parameters!(
    [T: Parameters, S: BuildHasher + Clone] HashMap<String, T, S>,
    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        let mut out = HashMap::with_capacity_and_hasher(self.len(), self.hasher().clone());
        for (k, x) in self.entries() {
            out.insert(k.clone(), x.map_leaves(&path.child(k), f)?);
        }
        Ok(out)
    }
);

macro_rules! tuple_parameters {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Parameters),+> Parameters for ($($t,)+) {
            fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
                $(self.$i.visit_states(f);)+
            }

            fn visit_modules_mut(
                &mut self,
                path: &ParamPath,
                f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
            ) -> Result<()>
            where
                Self: 'static,
            {
                $(self.$i.visit_modules_mut(&path.child($i), f)?;)+
                Ok(())
            }

            fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
                $(self.$i.visit_states_mut(f);)+
            }

            fn visit_leaves<'a>(
                &'a self,
                path: &ParamPath,
                f: &mut dyn FnMut(&ParamPath, &'a Array),
            ) {
                $(self.$i.visit_leaves(&path.child($i), f);)+
            }

            fn visit_leaves_mut(
                &mut self,
                path: &ParamPath,
                f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
            ) -> Result<()> {
                $(self.$i.visit_leaves_mut(&path.child($i), f)?;)+
                Ok(())
            }

            fn map_leaves(
                &self,
                path: &ParamPath,
                f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
            ) -> Result<Self> {
                Ok(($(self.$i.map_leaves(&path.child($i), f)?,)+))
            }
        }
    };
}

tuple_parameters!(A 0);
tuple_parameters!(A 0, B 1);
tuple_parameters!(A 0, B 1, C 2);
tuple_parameters!(A 0, B 1, C 2, D 3);
tuple_parameters!(A 0, B 1, C 2, D 3, E 4);
tuple_parameters!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_parameters!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_parameters!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
