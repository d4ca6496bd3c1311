"""CRRNet contact-region recognition and the kinematics-based BEHAVE HOI reconstruction pipeline.

Paper: Chen & Wang, "Kinematics-based 3D Human-Object Interaction Reconstruction from Single View"
(arXiv 2407.14043). See docs/contact.md for the mapping from the paper to the modules below:
`labels` (contact pseudo-labels), `model` (CRRNet, PiCR-style baseline, eq. 18 loss), `synthetic`
(embedded HOI clips), `behave` (BEHAVE loader), `pipeline` (rough fit -> regions -> neural IK -> Chamfer).
"""
