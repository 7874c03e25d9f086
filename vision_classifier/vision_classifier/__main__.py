import sys

from vision_classifier.cli import main

sys.exit(main())
