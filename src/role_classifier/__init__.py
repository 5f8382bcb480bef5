"""role-classifier: which AI/ML role is a job posting hiring for?"""
