"""Moving data between databases: schema reflection, type mapping, migrate and verify."""
