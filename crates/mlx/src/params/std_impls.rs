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

impl<T: Parameters> Parameters for Vec<T> {
    fn visit_modules_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
    ) -> Result<()>
    where
        Self: 'static,
    {
        for (i, x) in self.iter_mut().enumerate() {
            x.visit_modules_mut(&path.child(i), f)?;
        }
        Ok(())
    }

    fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
        self.iter().for_each(|x| x.visit_states(f))
    }

    fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
        self.iter_mut().for_each(|x| x.visit_states_mut(f))
    }

    fn visit_leaves<'a>(&'a self, path: &ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Array)) {
        for (i, x) in self.iter().enumerate() {
            x.visit_leaves(&path.child(i), f);
        }
    }

    fn visit_leaves_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
    ) -> Result<()> {
        for (i, x) in self.iter_mut().enumerate() {
            x.visit_leaves_mut(&path.child(i), f)?;
        }
        Ok(())
    }

    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        self.iter()
            .enumerate()
            .map(|(i, x)| x.map_leaves(&path.child(i), f))
            .collect()
    }
}

impl<T: Parameters, const N: usize> Parameters for [T; N] {
    fn visit_modules_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
    ) -> Result<()>
    where
        Self: 'static,
    {
        for (i, x) in self.iter_mut().enumerate() {
            x.visit_modules_mut(&path.child(i), f)?;
        }
        Ok(())
    }

    fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
        self.iter().for_each(|x| x.visit_states(f))
    }

    fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
        self.iter_mut().for_each(|x| x.visit_states_mut(f))
    }

    fn visit_leaves<'a>(&'a self, path: &ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Array)) {
        for (i, x) in self.iter().enumerate() {
            x.visit_leaves(&path.child(i), f);
        }
    }

    fn visit_leaves_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
    ) -> Result<()> {
        for (i, x) in self.iter_mut().enumerate() {
            x.visit_leaves_mut(&path.child(i), f)?;
        }
        Ok(())
    }

    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        let items = self
            .iter()
            .enumerate()
            .map(|(i, x)| x.map_leaves(&path.child(i), f))
            .collect::<Result<Vec<T>>>()?;
        match items.try_into() {
            Ok(array) => Ok(array),
            Err(_) => unreachable!("mapping keeps the length"),
        }
    }
}

impl<T: Parameters> Parameters for BTreeMap<String, T> {
    fn visit_modules_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
    ) -> Result<()>
    where
        Self: 'static,
    {
        for (k, x) in self.iter_mut() {
            x.visit_modules_mut(&path.child(k), f)?;
        }
        Ok(())
    }

    fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
        self.values().for_each(|x| x.visit_states(f))
    }

    fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
        self.values_mut().for_each(|x| x.visit_states_mut(f))
    }

    fn visit_leaves<'a>(&'a self, path: &ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Array)) {
        for (k, x) in self {
            x.visit_leaves(&path.child(k), f);
        }
    }

    fn visit_leaves_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
    ) -> Result<()> {
        for (k, x) in self.iter_mut() {
            x.visit_leaves_mut(&path.child(k), f)?;
        }
        Ok(())
    }

    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        self.iter()
            .map(|(k, x)| Ok((k.clone(), x.map_leaves(&path.child(k), f)?)))
            .collect()
    }
}

impl<T: Parameters, S: BuildHasher + Clone> Parameters for HashMap<String, T, S> {
    fn visit_modules_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut dyn std::any::Any) -> Result<()>,
    ) -> Result<()>
    where
        Self: 'static,
    {
        for (k, x) in self.iter_mut() {
            x.visit_modules_mut(&path.child(k), f)?;
        }
        Ok(())
    }

    fn visit_states(&self, f: &mut dyn FnMut(&ModuleState, &[&str])) {
        self.values().for_each(|x| x.visit_states(f))
    }

    fn visit_states_mut(&mut self, f: &mut dyn FnMut(&mut ModuleState, &[&str])) {
        self.values_mut().for_each(|x| x.visit_states_mut(f))
    }

    fn visit_leaves<'a>(&'a self, path: &ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Array)) {
        let mut entries: Vec<(&String, &'a T)> = self.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (k, x) in entries {
            x.visit_leaves(&path.child(k), f);
        }
    }

    fn visit_leaves_mut(
        &mut self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array) -> Result<()>,
    ) -> Result<()> {
        let mut entries: Vec<(&String, &mut T)> = self.iter_mut().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        for (k, x) in entries {
            x.visit_leaves_mut(&path.child(k), f)?;
        }
        Ok(())
    }

    fn map_leaves(
        &self,
        path: &ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array) -> Result<Array>,
    ) -> Result<Self> {
        let mut keys: Vec<&String> = self.keys().collect();
        keys.sort();
        let mut out = HashMap::with_capacity_and_hasher(self.len(), self.hasher().clone());
        for k in keys {
            out.insert(k.clone(), self[k].map_leaves(&path.child(k), f)?);
        }
        Ok(out)
    }
}

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
