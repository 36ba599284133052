"""The web shell: layout, navigation, languages, error pages, form handling."""
