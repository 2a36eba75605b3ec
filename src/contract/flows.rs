//! Evo Voice's flow types that the service describes but no operation carries.
//!
//! The seed's metadata page of PatchSession lists `NodeParameterMap` (a
//! `Dictionary<string, NodeParameter>` subclass of the flows assembly) before every other type,
//! though no member of PatchSession or SessionInfo refers to it, and it does not list
//! `NodeParameter` itself. Its members are not published: it is declared here without members
//! (inferred), so that generated code which names it compiles.

use super::model::DictionaryDef;
use super::value::Dto;
use voice_api_derive::Dto;

/// One parameter of a flow node (members unknown; see the module notes).
#[derive(Debug, Clone, PartialEq, Eq, Default, Dto)]
#[dto(namespace = "Voice.Api.Flows")]
pub struct NodeParameter {}

/// `NodeParameterMap : Dictionary<string, NodeParameter>`.
pub static NODE_PARAMETER_MAP: DictionaryDef = DictionaryDef {
    name: "NodeParameterMap",
    namespace: "Voice.Api.Flows",
    value: NodeParameter::TYPE,
};

/// The dictionary types the service declares, in the order its metadata lists them.
pub static DICTIONARIES: &[&DictionaryDef] = &[&NODE_PARAMETER_MAP];
