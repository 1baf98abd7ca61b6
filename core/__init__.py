"""The ground floor: what every app shares (errors, validators, low-level db helpers, admin base
pieces, exports, the datalist widget). It imports no app of ours; every app may import it."""
