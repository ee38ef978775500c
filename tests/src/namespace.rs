//! Private mount namespaces with throw-away overlays, where the real postmulti
//! and ours run side by side against the real Postfix.
