import sys

from nndl.cli.main import main

sys.exit(main())
