//! The solver conformance suite (`preferent_testkit::solver_conformance!`), instantiated for
//! every solver and its stochastic / higher-order variants.

use preferent_samplers::solvers::{
    Ddim, DdimConfig, Ddpm, DdpmConfig, DpmAlgorithm, DpmSolverMultistep, DpmSolverMultistepConfig,
    DpmSolverSinglestep, DpmSolverSinglestepConfig, EdmConfig, EulerEdm, FlowMatchEuler,
    FlowMatchEulerConfig, FlowTimeShift, HeunEdm,
};
use preferent_testkit::solver_conformance;

solver_conformance!(ddim, DdimConfig, DdimConfig::new(), Ddim::new);
solver_conformance!(
    ddim_eta_one,
    DdimConfig,
    DdimConfig::new().with_eta(1.0),
    Ddim::new
);
solver_conformance!(ddpm, DdpmConfig, DdpmConfig::new(), Ddpm::new);
solver_conformance!(
    dpm_solver_pp_2m,
    DpmSolverMultistepConfig,
    DpmSolverMultistepConfig::new(),
    DpmSolverMultistep::new
);
solver_conformance!(
    dpm_solver_pp_3m,
    DpmSolverMultistepConfig,
    DpmSolverMultistepConfig::new().with_solver_order(3),
    DpmSolverMultistep::new
);
solver_conformance!(
    sde_dpm_solver_pp_2m,
    DpmSolverMultistepConfig,
    DpmSolverMultistepConfig::new().with_algorithm_type(DpmAlgorithm::SdeDpmSolverPlusPlus),
    DpmSolverMultistep::new
);
solver_conformance!(
    dpm_solver_pp_2s,
    DpmSolverSinglestepConfig,
    DpmSolverSinglestepConfig::new(),
    DpmSolverSinglestep::new
);
solver_conformance!(
    dpm_solver_pp_3s,
    DpmSolverSinglestepConfig,
    DpmSolverSinglestepConfig::new().with_solver_order(3),
    DpmSolverSinglestep::new
);
solver_conformance!(
    sde_dpm_solver_pp_2s,
    DpmSolverSinglestepConfig,
    DpmSolverSinglestepConfig::new().with_algorithm_type(DpmAlgorithm::SdeDpmSolverPlusPlus),
    DpmSolverSinglestep::new
);
solver_conformance!(euler_edm, EdmConfig, EdmConfig::new(), EulerEdm::new);
solver_conformance!(heun_edm, EdmConfig, EdmConfig::new(), HeunEdm::new);
solver_conformance!(
    flow_match_euler,
    FlowMatchEulerConfig,
    FlowMatchEulerConfig::new().with_time_shift(FlowTimeShift::Static { shift: 3.0 }),
    FlowMatchEuler::new
);
solver_conformance!(
    flow_match_euler_stochastic,
    FlowMatchEulerConfig,
    FlowMatchEulerConfig::new().with_stochastic_sampling(true),
    FlowMatchEuler::new
);

mod unipc {
    use preferent_samplers::solvers::{UniPc, UniPcConfig, UniPcVariant};
    use preferent_testkit::solver_conformance;

    solver_conformance!(unipc_bh2_2, UniPcConfig, UniPcConfig::new(), UniPc::new);
    solver_conformance!(
        unipc_bh2_3,
        UniPcConfig,
        UniPcConfig::new().with_solver_order(3),
        UniPc::new
    );
    solver_conformance!(
        unipc_bh1_2,
        UniPcConfig,
        UniPcConfig::new().with_solver_type(UniPcVariant::Bh1),
        UniPc::new
    );
    solver_conformance!(
        unipc_bh1_3,
        UniPcConfig,
        UniPcConfig::new()
            .with_solver_type(UniPcVariant::Bh1)
            .with_solver_order(3),
        UniPc::new
    );
}

mod pfgmpp {
    use preferent_samplers::pfgmpp::{pfgmpp_heun, PfgmppConfig};
    use preferent_testkit::solver_conformance;

    solver_conformance!(
        pfgmpp_heun_d128,
        PfgmppConfig,
        PfgmppConfig::new(),
        pfgmpp_heun
    );
    solver_conformance!(
        pfgmpp_heun_d4,
        PfgmppConfig,
        PfgmppConfig::new().with_aug_dim(4).with_train_clip(None),
        pfgmpp_heun
    );
}
