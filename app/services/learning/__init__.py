"""Professional learning: modules, portfolios, reviews, pathways, educators and their imported
credentials.
"""
