"""The `primestream` command line."""

import warnings

import authlib.deprecate

# authlib (under confluent-kafka's registry client) warns on every start that its httpx shim
# is deprecated, and forces that warning to "always" when imported: users can do nothing
# about it, so the command line hides that one message (our filter goes in front of its).
warnings.filterwarnings("ignore", message="The httpx module is deprecated")

del authlib
