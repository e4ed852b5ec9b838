"""Views by area: catalog (dashboards), form (new export), exports (mine, one, downloads), audit."""
