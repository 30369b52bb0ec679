//! figment interop: a [`Snapshot`] is a `figment::Provider`, so figment users can put c5store
//! under their existing `Figment` and move over gradually.

use figment::value::{Dict, Map as FMap, Value as FValue};
use figment::{Error, Metadata, Profile, Provider};

use crate::snapshot::Snapshot;

impl Provider for Snapshot {
    fn metadata(&self) -> Metadata {
        Metadata::named("c5store snapshot")
    }

    fn data(&self) -> Result<FMap<Profile, Dict>, Error> {
        let v = FValue::serialize(self.root())?;
        let dict = v
            .into_dict()
            .ok_or_else(|| Error::from(String::from("snapshot root is not a map")))?;
        Ok(Profile::Default.collect(dict))
    }
}
