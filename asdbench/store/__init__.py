"""The run store: trainings, scorings and pseudo-label tables on disk, their files and claims, the code and
data they were made with, and the stages that compute them."""
