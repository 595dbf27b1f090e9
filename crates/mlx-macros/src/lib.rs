//! Procedural macros for the `mlx` crate.
//!
//! Use them through `mlx` (`use mlx::Parameters;` brings both the trait and its derive into
//! scope), not by depending on this crate directly: the generated code names the `mlx` crate by
//! the absolute path `::mlx`, so the crate deriving must depend on `mlx` under that name.

use std::collections::HashSet;

use proc_macro::TokenStream;
use proc_macro2::{TokenStream as TokenStream2, TokenTree};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Field, Fields, Ident, LitStr, Member, Type, WherePredicate};

/// Derives `mlx::Parameters` for a struct whose fields are arrays or hold arrays.
///
/// Every field is part of the parameter tree unless marked `#[param(skip)]`; a field's type must
/// implement `mlx::Parameters` (`Array`, `Vec<T>`, `Option<T>`, `Box<T>`, `[T; N]`, maps with
/// `String` keys, small tuples, and other types deriving it). Leaves are named by the dotted path
/// of field names (tuple fields are named `0`, `1`, ...), in field declaration order.
///
/// Field options, written `#[param(...)]`:
///
/// - `skip`: not a parameter (configuration, caches ...). The field's type must implement
///   `Clone`: trees built from a model (gradients, updated copies) clone it.
/// - `frozen`: a parameter that is not trained: listed, saved and loaded, but gradients are not
///   taken with respect to it and optimizer updates leave it alone.
/// - `rename = "name"`: the name used in leaf paths instead of the field's name.
/// - `state`: the field (of type `mlx::params::ModuleState`) holds the module's training mode
///   and the names of its fields frozen at run time (`freeze`/`unfreeze`); at most one per
///   struct. Without one, mode and freezing reach only the struct's children.
///
/// The generated code refers to the `mlx` crate as `::mlx`.
#[proc_macro_derive(Parameters, attributes(param))]
pub fn derive_parameters(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// What the derive does with one field.
#[derive(Debug, PartialEq)]
enum Role {
    /// A trainable parameter (or subtree).
    Trainable,
    /// A parameter (or subtree) excluded from training.
    Frozen,
    /// Not part of the tree; cloned into rebuilt trees.
    Skipped,
    /// The module's `mlx::params::ModuleState` (training mode, frozen names): not a leaf,
    /// cloned into rebuilt trees, consulted for the children's paths.
    State,
}

struct FieldSpec<'a> {
    field: &'a Field,
    member: Member,
    name: String,
    role: Role,
}

fn expand(input: &DeriveInput) -> syn::Result<TokenStream2> {
    let fields = match &input.data {
        Data::Struct(s) => &s.fields,
        Data::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                "`Parameters` can only be derived for structs, not enums: the set of leaves must \
                 not depend on a runtime variant (implement `mlx::Parameters` by hand if needed)",
            ));
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "`Parameters` can only be derived for structs, not unions",
            ));
        }
    };
    let specs = field_specs(fields)?;

    let mlx = quote!(::mlx);
    let path_ty = quote!(#mlx::params::ParamPath);
    let states: Vec<&FieldSpec<'_>> = specs.iter().filter(|s| s.role == Role::State).collect();
    if let Some(second) = states.get(1) {
        return Err(syn::Error::new(
            second.field.span(),
            "a struct has at most one `#[param(state)]` field",
        ));
    }
    let state = states.first().map(|s| &s.member);
    let mut visits = Vec::new();
    let mut visits_mut = Vec::new();
    let mut maps = Vec::new();
    let mut module_visits = Vec::new();
    let mut state_visits = Vec::new();
    let mut state_visits_mut = Vec::new();
    let mut local_names = Vec::new();
    for spec in &specs {
        let member = &spec.member;
        let span = spec.field.ty.span();
        if matches!(spec.role, Role::Skipped | Role::State) {
            maps.push(quote_spanned! {span=>
                #member: ::core::clone::Clone::clone(&self.#member)
            });
            continue;
        }
        let name = &spec.name;
        local_names.push(name.clone());
        let base = if spec.role == Role::Frozen {
            quote!(__mlx_path.child(#name).frozen())
        } else {
            quote!(__mlx_path.child(#name))
        };
        let child = match state {
            Some(state) => {
                quote!(&#mlx::params::ModuleState::child_path(&self.#state, #base, #name))
            }
            None => quote!(&#base),
        };
        module_visits.push(quote_spanned! {span=>
            #mlx::Parameters::visit_modules_mut(&mut self.#member, #child, __mlx_f)?;
        });
        state_visits.push(quote_spanned! {span=>
            #mlx::Parameters::visit_states(&self.#member, __mlx_f);
        });
        state_visits_mut.push(quote_spanned! {span=>
            #mlx::Parameters::visit_states_mut(&mut self.#member, __mlx_f);
        });
        visits.push(quote_spanned! {span=>
            #mlx::Parameters::visit_leaves(&self.#member, #child, __mlx_f);
        });
        visits_mut.push(quote_spanned! {span=>
            #mlx::Parameters::visit_leaves_mut(&mut self.#member, #child, __mlx_f)?;
        });
        maps.push(quote_spanned! {span=>
            #member: #mlx::Parameters::map_leaves(&self.#member, #child, __mlx_f)?
        });
    }

    let ident = &input.ident;
    let mut generics = input.generics.clone();
    let type_params: HashSet<Ident> = generics.type_params().map(|p| p.ident.clone()).collect();
    if !type_params.is_empty() {
        let where_clause = generics.make_where_clause();
        for spec in &specs {
            let ty = &spec.field.ty;
            if !mentions(ty, &type_params) {
                continue;
            }
            let predicate: WherePredicate = if matches!(spec.role, Role::Skipped | Role::State) {
                syn::parse_quote_spanned!(ty.span()=> #ty: ::core::clone::Clone)
            } else {
                syn::parse_quote_spanned!(ty.span()=> #ty: #mlx::Parameters)
            };
            where_clause.predicates.push(predicate);
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let own_state = state.map(|state| quote!(__mlx_f(&self.#state, &[#(#local_names),*]);));
    let own_state_mut = state.map(|state| quote!(__mlx_f(&mut self.#state, &[#(#local_names),*]);));

    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #mlx::Parameters for #ident #ty_generics #where_clause {
            fn visit_leaves<'__mlx_a>(
                &'__mlx_a self,
                __mlx_path: &#path_ty,
                __mlx_f: &mut dyn ::core::ops::FnMut(&#path_ty, &'__mlx_a #mlx::Array),
            ) {
                let _ = (&__mlx_path, &__mlx_f);
                #(#visits)*
            }

            fn visit_leaves_mut(
                &mut self,
                __mlx_path: &#path_ty,
                __mlx_f: &mut dyn ::core::ops::FnMut(
                    &#path_ty,
                    &mut #mlx::Array,
                ) -> #mlx::Result<()>,
            ) -> #mlx::Result<()> {
                let _ = (&__mlx_path, &__mlx_f);
                #(#visits_mut)*
                ::core::result::Result::Ok(())
            }

            fn map_leaves(
                &self,
                __mlx_path: &#path_ty,
                __mlx_f: &mut dyn ::core::ops::FnMut(
                    &#path_ty,
                    &#mlx::Array,
                ) -> #mlx::Result<#mlx::Array>,
            ) -> #mlx::Result<Self> {
                let _ = (&__mlx_path, &__mlx_f);
                ::core::result::Result::Ok(Self { #(#maps,)* })
            }

            fn visit_modules_mut(
                &mut self,
                __mlx_path: &#path_ty,
                __mlx_f: &mut dyn ::core::ops::FnMut(
                    &#path_ty,
                    &mut dyn ::core::any::Any,
                ) -> #mlx::Result<()>,
            ) -> #mlx::Result<()>
            where
                Self: 'static,
            {
                #(#module_visits)*
                __mlx_f(__mlx_path, self)
            }

            fn visit_states(
                &self,
                __mlx_f: &mut dyn ::core::ops::FnMut(&#mlx::params::ModuleState, &[&str]),
            ) {
                let _ = &__mlx_f;
                #own_state
                #(#state_visits)*
            }

            fn visit_states_mut(
                &mut self,
                __mlx_f: &mut dyn ::core::ops::FnMut(&mut #mlx::params::ModuleState, &[&str]),
            ) {
                let _ = &__mlx_f;
                #own_state_mut
                #(#state_visits_mut)*
            }
        }
    })
}

/// Reads each field's `#[param(...)]` options and checks that leaf names are unique.
fn field_specs(fields: &Fields) -> syn::Result<Vec<FieldSpec<'_>>> {
    let mut specs = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    for (index, field) in fields.iter().enumerate() {
        let member = match &field.ident {
            Some(ident) => Member::Named(ident.clone()),
            None => Member::Unnamed(syn::Index {
                index: index as u32,
                span: field.ty.span(),
            }),
        };
        let default_name = match &field.ident {
            Some(ident) => {
                let s = ident.to_string();
                s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
            }
            None => index.to_string(),
        };
        let (role, rename) = field_options(field)?;
        let name = match rename {
            Some(lit) => {
                let value = lit.value();
                if value.is_empty() {
                    return Err(syn::Error::new(
                        lit.span(),
                        "a parameter name cannot be empty",
                    ));
                }
                value
            }
            None => default_name,
        };
        if !matches!(role, Role::Skipped | Role::State) && !seen.insert(name.clone()) {
            return Err(syn::Error::new(
                field.span(),
                format!("two fields have the parameter name `{name}`"),
            ));
        }
        specs.push(FieldSpec {
            field,
            member,
            name,
            role,
        });
    }
    Ok(specs)
}

fn field_options(field: &Field) -> syn::Result<(Role, Option<LitStr>)> {
    let mut skip = None;
    let mut frozen = None;
    let mut state = None;
    let mut rename: Option<LitStr> = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("param")) {
        attr.parse_nested_meta(|meta| {
            let repeated = |what: &str| meta.error(format!("`{what}` is given twice"));
            if meta.path.is_ident("skip") {
                if skip.replace(meta.path.span()).is_some() {
                    return Err(repeated("skip"));
                }
            } else if meta.path.is_ident("frozen") {
                if frozen.replace(meta.path.span()).is_some() {
                    return Err(repeated("frozen"));
                }
            } else if meta.path.is_ident("state") {
                if state.replace(meta.path.span()).is_some() {
                    return Err(repeated("state"));
                }
            } else if meta.path.is_ident("rename") {
                let lit: LitStr = meta.value()?.parse()?;
                if rename.replace(lit).is_some() {
                    return Err(repeated("rename"));
                }
            } else {
                return Err(meta.error(
                    "unknown `param` option; expected `skip`, `frozen`, `state` or `rename = \"...\"`",
                ));
            }
            Ok(())
        })?;
    }
    if let Some(span) = state {
        if skip.is_some() || frozen.is_some() || rename.is_some() {
            return Err(syn::Error::new(
                span,
                "`state` marks the module's `mlx::params::ModuleState` and takes no other option",
            ));
        }
        return Ok((Role::State, None));
    }
    match (skip, frozen, &rename) {
        (Some(span), Some(_), _) => Err(syn::Error::new(
            span,
            "`skip` and `frozen` exclude each other: a skipped field is not a parameter at all",
        )),
        (Some(span), None, Some(_)) => Err(syn::Error::new(
            span,
            "`rename` has no effect on a skipped field",
        )),
        (Some(_), None, None) => Ok((Role::Skipped, None)),
        (None, Some(_), _) => Ok((Role::Frozen, rename)),
        (None, None, _) => Ok((Role::Trainable, rename)),
    }
}

/// Whether `ty` names one of the struct's type parameters.
fn mentions(ty: &Type, params: &HashSet<Ident>) -> bool {
    fn walk(tokens: TokenStream2, params: &HashSet<Ident>) -> bool {
        tokens.into_iter().any(|t| match t {
            TokenTree::Ident(i) => params.contains(&i),
            TokenTree::Group(g) => walk(g.stream(), params),
            _ => false,
        })
    }
    walk(quote!(#ty), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(input: DeriveInput) -> String {
        match expand(&input) {
            Ok(tokens) => panic!("expected an error, got {tokens}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn enums_and_unions_are_rejected() {
        let e = error_of(syn::parse_quote! { enum E { A(Array) } });
        assert!(e.contains("not enums"), "{e}");
        let e = error_of(syn::parse_quote! { union U { a: u32 } });
        assert!(e.contains("not unions"), "{e}");
    }

    #[test]
    fn bad_options_are_rejected() {
        let e = error_of(syn::parse_quote! { struct S { #[param(skip, frozen)] a: Array } });
        assert!(e.contains("exclude each other"), "{e}");
        let e = error_of(syn::parse_quote! { struct S { #[param(trainable)] a: Array } });
        assert!(e.contains("unknown `param` option"), "{e}");
        let e = error_of(syn::parse_quote! { struct S { #[param(skip, skip)] a: u32 } });
        assert!(e.contains("given twice"), "{e}");
        let e = error_of(syn::parse_quote! { struct S { #[param(rename = "")] a: Array } });
        assert!(e.contains("cannot be empty"), "{e}");
        let e = error_of(syn::parse_quote! { struct S { #[param(skip, rename = "b")] a: u32 } });
        assert!(e.contains("no effect"), "{e}");
        let e = error_of(syn::parse_quote! {
            struct S { a: Array, #[param(rename = "a")] b: Array }
        });
        assert!(e.contains("two fields have the parameter name `a`"), "{e}");
        let e = error_of(syn::parse_quote! {
            struct S { #[param(state)] a: ModuleState, #[param(state)] b: ModuleState }
        });
        assert!(e.contains("at most one"), "{e}");
        let e = error_of(syn::parse_quote! { struct S { #[param(state, frozen)] a: ModuleState } });
        assert!(e.contains("takes no other option"), "{e}");
    }

    #[test]
    fn a_state_field_freezes_children_and_is_visited() {
        let input: DeriveInput = syn::parse_quote! {
            struct Layer { weight: Array, #[param(state)] state: ModuleState }
        };
        let code = expand(&input).unwrap().to_string();
        assert!(
            code.contains("ModuleState :: child_path (& self . state"),
            "{code}"
        );
        assert!(
            code.contains("__mlx_f (& mut self . state , & [\"weight\"])"),
            "{code}"
        );
        assert!(!code.contains("child (\"state\")"), "{code}");
    }

    #[test]
    fn generated_code_names_fields_and_roles() {
        let input: DeriveInput = syn::parse_quote! {
            struct Layer {
                weight: Array,
                #[param(frozen)]
                scale: Array,
                #[param(rename = "b")]
                bias: Option<Array>,
                #[param(skip)]
                width: usize,
            }
        };
        let code = expand(&input).unwrap().to_string();
        assert!(code.contains("child (\"weight\")"), "{code}");
        assert!(code.contains("child (\"scale\") . frozen ()"), "{code}");
        assert!(code.contains("child (\"b\")"), "{code}");
        assert!(!code.contains("child (\"width\")"), "{code}");
        assert!(code.contains("width : :: core :: clone :: Clone :: clone (& self . width)"));
    }

    #[test]
    fn generic_fields_get_bounds() {
        let input: DeriveInput = syn::parse_quote! {
            struct Stack<L, C> { layers: Vec<L>, out: Array, #[param(skip)] config: C }
        };
        let code = expand(&input).unwrap().to_string();
        assert!(code.contains("Vec < L > : :: mlx :: Parameters"), "{code}");
        assert!(code.contains("C : :: core :: clone :: Clone"), "{code}");
        assert!(!code.contains("Array : :: mlx :: Parameters"), "{code}");
    }

    #[test]
    fn tuple_fields_are_numbered() {
        let input: DeriveInput =
            syn::parse_quote! { struct Pair(Array, #[param(skip)] u8, Array); };
        let code = expand(&input).unwrap().to_string();
        assert!(code.contains("child (\"0\")"), "{code}");
        assert!(code.contains("child (\"2\")"), "{code}");
        assert!(!code.contains("child (\"1\")"), "{code}");
    }
}
