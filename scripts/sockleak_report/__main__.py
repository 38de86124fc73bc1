"""The report tool's entry point: `python3 -m sockleak_report COMMAND ...`, and the main of
the zipapp build/sockleak-report (copied to the archive's top)."""
import sys

from sockleak_report.cli import main

sys.exit(main())
