"""The JSON API for automation (/api/v1/): the same services, selectors and access rules as the pages."""
