"""``python -m explainer`` runs the CLI."""
from explainer.cli import main

if __name__ == "__main__":
    main()
