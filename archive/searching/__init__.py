"""Search pages at scale: the narrow facet/sort table (browse.py) and a search's count and facets in one
pass over its hits (facets.py). The full-text index itself is archive/search.py."""
