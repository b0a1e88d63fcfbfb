import sys

from cashdesk.cli import main

sys.exit(main())
