"""TIGeR: text-instructed shape priors and vision-guided refinement for hand-object reconstruction."""
