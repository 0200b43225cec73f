"""Learning pathways: resources, pathways and steps, following by email, imports, gaps, link checks."""
