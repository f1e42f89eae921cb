//! Endpoint tests (see also tcp-tests/tests/endpoint_*.rs).
